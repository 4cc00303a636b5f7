import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../../src/host/exec.js';
import { kvmpool, serve, type ServeProcess } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/tmp.js';
import { disks } from './disks.js';
import { iscsiTarget, loadNetModules, lvmSeesLunsOnly, nfsServer } from './net-servers.js';

/**
 * The network storage steps of the README, as a new user does them, through the CLI only: find an
 * NFS export and an iSCSI target, define and start both pools, copy a volume of the default pool onto
 * NFS, build a thin LVM pool on the iSCSI LUN, lose the NFS server and see the daemon answer with the
 * pool degraded, then see it recover when the server is back.
 */

const IQN = 'iqn.2026-12.test.kvmpool:walk';
const INITIATOR = 'iqn.2026-12.test.kvmpool:walker';
const CHAP = { user: 'walker', secret: 'walker-secret-1' };
let work = '';
let removeWork: () => Promise<void> = async () => {};
let nfs: Awaited<ReturnType<typeof nfsServer>>;
let target: Awaited<ReturnType<typeof iscsiTarget>>;
let home = '';
let daemon: ServeProcess | undefined;

before(async () => {
  ({ dir: work, cleanup: removeWork } = await tempDir());
  const [nfsDisk, lunDisk] = disks();
  await loadNetModules();
  nfs = await nfsServer(nfsDisk!, path.join(work, 'export'));
  target = await iscsiTarget({ iqn: IQN, initiator: INITIATOR, luns: [lunDisk!], portals: ['127.0.0.1:3260'], chap: CHAP });
  home = path.join(work, 'home');
  await lvmSeesLunsOnly(work);
  daemon = await serve(home);
});

after(async () => {
  await daemon?.stop();
  await target?.close();
  await nfs?.close();
  await removeWork();
});

/** Runs kvmpool; fails unless it succeeds; returns its output and how long it took. */
async function k(...args: string[]): Promise<{ out: string; seconds: number }> {
  const started = performance.now();
  const r = await kvmpool(['--home', home, ...args]);
  assert.equal(r.code, 0, `kvmpool ${args.join(' ')}: ${r.stderr}`);
  return { out: r.stdout, seconds: (performance.now() - started) / 1000 };
}
const json = async <T>(...args: string[]): Promise<T> => JSON.parse((await k('--json', ...args)).out) as T;

test('the README walk-through: NFS and iSCSI found, defined and started, a copy onto NFS, thin LVM on the LUN, the NFS server lost and back', async () => {
  const exported = path.join(work, 'export');
  const byPath = `/dev/disk/by-path/ip-127.0.0.1:3260-iscsi-${IQN}-lun-0`;
  let nfsDown = false;
  try {
    // Discovery.
    assert.match((await k('pool', 'sources', '--type', 'netfs', '--host', '127.0.0.1')).out, new RegExp(`--export ${exported}`));
    assert.match((await k('pool', 'sources', '--type', 'iscsi', '--portal', '127.0.0.1')).out, new RegExp(IQN.replace(/\./g, '\\.')));

    // Both pools, from what discovery said.
    await writeFile(path.join(work, 'chap'), `${CHAP.secret}\n`, { mode: 0o600 });
    await k('pool', 'define', 'nas', '--type', 'netfs', '--host', '127.0.0.1', '--export', exported, '--target', path.join(work, 'nas'));
    await k('pool', 'build', 'nas');
    console.log(`# figure: walk-through: NFS pool start ${(await k('pool', 'start', 'nas')).seconds.toFixed(2)} s (CLI)`);
    await k('pool', 'define', 'san', '--type', 'iscsi', '--portal', '127.0.0.1', '--iqn', IQN, '--chap-user', CHAP.user, '--secret-file', path.join(work, 'chap'));
    console.log(`# figure: walk-through: iSCSI pool start ${(await k('pool', 'start', 'san')).seconds.toFixed(2)} s (CLI)`);

    // A volume of the default pool, copied onto NFS.
    await k('vol', 'create', 'default/web.qcow2', '--size', '64M', '--format', 'qcow2');
    const webPath = (await json<{ path: string }>('vol', 'info', 'default/web.qcow2')).path;
    await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 7 0 4M', webPath]);
    await k('vol', 'clone', 'default/web.qcow2', 'web.qcow2', '--to', 'nas');
    const copied = await run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'qcow2', webPath, path.join(work, 'nas', 'web.qcow2')]);
    assert.match(copied.stdout, /identical/);

    // Thin LVM on the LUN (udev's name for it, made here: the test host runs no udev).
    const lun = (await json<{ name: string; path: string }[]>('vol', 'list', 'san')).find((v) => v.name === 'lun-0');
    assert.ok(lun, 'the LUN is a volume of the iscsi pool');
    await run('mkdir', ['-p', path.dirname(byPath)]);
    await run('ln', ['-sfn', lun.path, byPath]);
    await k('pool', 'define', 'vg', '--type', 'logical', '--source', byPath, '--thin-pool', '128M');
    await k('pool', 'build', 'vg');
    await k('pool', 'start', 'vg');
    await k('vol', 'create', 'vg/thin1', '--size', '1G', '--thin');
    assert.match((await k('vol', 'list', 'vg')).out, /thin1/);

    // The NFS server goes away: every command answers, the pool is degraded within 15 s.
    await nfs.stop();
    nfsDown = true;
    const gone = performance.now();
    let degradedAfter = -1;
    while (degradedAfter < 0 && performance.now() - gone < 20_000) {
      const info = await k('--json', 'pool', 'info', 'nas');
      assert.ok(info.seconds < 10, `pool info took ${info.seconds.toFixed(1)} s`);
      if ((JSON.parse(info.out) as { state: string }).state === 'degraded') degradedAfter = (performance.now() - gone) / 1000;
      const list = await k('pool', 'list');
      assert.ok(list.seconds < 10, `pool list took ${list.seconds.toFixed(1)} s`);
    }
    console.log(`# figure: walk-through: NFS pool degraded ${degradedAfter.toFixed(2)} s after the server stopped (CLI)`);
    assert.ok(degradedAfter >= 0 && degradedAfter <= 15, `degraded after ${degradedAfter} s`);
    assert.match((await k('pool', 'list')).out, /nas\s+netfs\s+degraded/);
    assert.match((await k('vol', 'list', 'vg')).out, /thin1/, 'the other pools work on');

    // Back: the pool recovers by itself.
    await nfs.start();
    nfsDown = false;
    const back = performance.now();
    while ((await json<{ state: string }>('pool', 'info', 'nas')).state !== 'running') {
      assert.ok(performance.now() - back < 60_000, 'the pool is still degraded 60 s after its server came back');
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(`# figure: walk-through: NFS pool running again ${((performance.now() - back) / 1000).toFixed(2)} s after the server came back (CLI)`);
    assert.match((await k('vol', 'list', 'nas')).out, /web\.qcow2/);

    // Down again, in order: the logical pool before the iscsi pool it stands on.
    await k('vol', 'delete', 'vg/thin1');
    await k('pool', 'stop', 'vg');
    await k('pool', 'delete', 'vg');
    await k('pool', 'stop', 'san');
    await k('vol', 'delete', 'nas/web.qcow2');
    await k('pool', 'stop', 'nas');
  } finally {
    if (nfsDown) await nfs.start();
    // The volume group goes too (pool delete), so that no PV label is left on the LUN.
    for (const [verb, pool] of [['stop', 'vg'], ['delete', 'vg'], ['undefine', 'vg'], ['stop', 'san'], ['undefine', 'san'], ['stop', 'nas'], ['undefine', 'nas']] as const) {
      await kvmpool(['--home', home, 'pool', verb, pool]);
    }
    await run('rm', ['-f', byPath]);
    await run('umount', ['-f', '-l', path.join(work, 'nas')]).catch(() => undefined);
  }
  const sessions = await run('iscsiadm', ['-m', 'session']).then((r) => r.stdout, () => '');
  assert.equal(sessions.trim(), '', 'no iSCSI session left');
});
