import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../../src/host/exec.js';
import { KvmpoolClient } from '../../../src/client/client.js';
import { KvmpoolError } from '../../../src/model/errors.js';
import { kvmpool, serve, type ServeProcess } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/tmp.js';
import { disks } from './disks.js';
import { iscsiTarget, type TargetChap } from './net-servers.js';

const IQN = 'iqn.2026-12.test.kvmpool:san';
const INITIATOR = 'iqn.2026-12.test.kvmpool:host1';
const CHAP: TargetChap = { user: 'host1', secret: 'host1-secret-12', mutualUser: 'san', mutualSecret: 'san-secret-1234' };
const PORTALS = ['127.0.0.1:3260', '127.0.0.2:3260'];

let work = '';
let removeWork: () => Promise<void> = async () => {};
let target: Awaited<ReturnType<typeof iscsiTarget>>;
let home = '';
let daemon: ServeProcess | undefined;
let client: KvmpoolClient;

before(async () => {
  ({ dir: work, cleanup: removeWork } = await tempDir());
  target = await iscsiTarget({ iqn: IQN, initiator: INITIATOR, luns: disks(), portals: PORTALS, chap: CHAP });
  home = path.join(work, 'home');
  daemon = await serve(home);
  client = new KvmpoolClient({ socketPath: path.join(home, 'kvmpool.sock') });
  await writeFile(path.join(work, 'chap'), `${CHAP.secret}\n`, { mode: 0o600 });
  await writeFile(path.join(work, 'mutual'), `${CHAP.mutualSecret}\n`, { mode: 0o600 });
  await writeFile(path.join(work, 'wrong'), 'not-the-secret\n', { mode: 0o600 });
});

after(async () => {
  await daemon?.stop();
  await target?.close();
  await removeWork();
});

/** What the host holds of iSCSI: sessions (sysfs), node records and interface records (open-iscsi's files). */
async function iscsiState(): Promise<{ sessions: number; records: number; ifaces: number }> {
  const sessions = (await readdir('/sys/class/iscsi_session').catch(() => [] as string[])).length;
  const { stdout } = await run('find', ['/etc/iscsi/nodes', '-type', 'f']).catch(() => ({ stdout: '' }));
  const ifaces = (await readdir('/etc/iscsi/ifaces').catch(() => [] as string[])).filter((f) => f.startsWith('kvmpool-')).length;
  return { sessions, records: stdout.split('\n').filter(Boolean).length, ifaces };
}
const NOTHING = { sessions: 0, records: 0, ifaces: 0 };

const cli = async (...args: string[]) => {
  const r = await kvmpool(['--home', home, ...args]);
  assert.equal(r.code, 0, `kvmpool ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e instanceof KvmpoolError ? e.code : String(e)));

test('iscsi: discover the target, log in through two portals with mutual CHAP, use the LUNs, log out leaving nothing', async () => {
  try {
    await story();
  } finally {
    // A failure part way must not leave the next test a defined pool or a session.
    await kvmpool(['--home', home, 'pool', 'stop', 'san']);
    await kvmpool(['--home', home, 'pool', 'undefine', 'san']);
  }
});

async function story(): Promise<void> {
  assert.deepEqual(await iscsiState(), NOTHING);
  const found = JSON.parse(await cli('--json', 'pool', 'sources', '--type', 'iscsi', '--portal', '127.0.0.1')) as { source: { iqn: string; portals: string[] } }[];
  assert.deepEqual(found.map((f) => f.source.iqn), [IQN]);
  assert.deepEqual(found[0]!.source.portals.sort(), PORTALS);

  await cli('pool', 'define', 'san', '--type', 'iscsi', '--portal', PORTALS.join(','), '--iqn', IQN, '--chap-user', CHAP.user, '--secret-file', path.join(work, 'chap'), '--mutual-user', CHAP.mutualUser!, '--mutual-secret-file', path.join(work, 'mutual'));
  const shown = await cli('--json', 'pool', 'info', 'san');
  assert.ok(!shown.includes(CHAP.secret) && !shown.includes(CHAP.mutualSecret!), 'secrets are never shown');
  let t = performance.now();
  await cli('pool', 'start', 'san');
  console.log(`# figure: iscsi pool start (2 portals, mutual CHAP): ${((performance.now() - t) / 1000).toFixed(2)} s`);
  assert.deepEqual(await iscsiState(), { sessions: 2, records: 2, ifaces: 0 });
  const vols = await client.call('listVolumes', { params: { pool: 'san' } });
  assert.deepEqual(vols.map((v) => [v.name, v.format, v.capacity]), [['lun-0', 'raw', 512 * 1024 ** 2], ['lun-1', 'raw', 256 * 1024 ** 2]]);
  assert.ok(!vols[0]!.features.includes('delete') && vols[0]!.features.includes('upload'), vols[0]!.features.join(','));
  assert.equal(await code(client.call('createVolume', { params: { pool: 'san' }, body: { name: 'x', capacity: '1M' } })), 'NOT_SUPPORTED');
  assert.equal(await code(client.call('deleteVolume', { params: { pool: 'san', volume: 'lun-0' } })), 'NOT_SUPPORTED');

  // Data in, out, and copied to a file pool.
  const file = path.join(work, 'data.img');
  await run('dd', ['if=/dev/urandom', `of=${file}`, 'bs=1M', 'count=8', 'status=none']);
  // LUNs are not kvmpool's (it made none of them): writing over one is asked for explicitly.
  const refused = await kvmpool(['--home', home, 'vol', 'upload', 'san/lun-1', file]);
  assert.match(refused.stderr, /FOREIGN_VOLUME/);
  await cli('vol', 'upload', 'san/lun-1', file, '--force');
  await cli('vol', 'download', 'san/lun-1', path.join(work, 'back.img'));
  const sha = async (f: string, bytes: number) => (await run('sh', ['-c', `head -c ${bytes} "$0" | sha256sum`, f])).stdout.split(' ')[0];
  assert.equal(await sha(path.join(work, 'back.img'), 8 * 1024 ** 2), await sha(file, 8 * 1024 ** 2));
  await cli('pool', 'define', 'local', '--type', 'dir', '--target', path.join(work, 'local'));
  await cli('pool', 'build', 'local');
  await cli('pool', 'start', 'local');
  await cli('vol', 'clone', 'san/lun-1', 'copy.qcow2', '--to', 'local', '--format', 'qcow2');
  const cmp = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', path.join(work, 'back.img'), path.join(work, 'local', 'copy.qcow2')]);
  assert.match(cmp.stdout, /identical/);
  await cli('vol', 'wipe', 'san/lun-1', '--algorithm', 'zero', '--verify', '--force');

  // The daemon killed while logged in, then started again: the sessions are taken over, not doubled.
  daemon!.child.kill('SIGKILL');
  await new Promise((r) => daemon!.child.once('exit', r));
  daemon = await serve(home);
  assert.deepEqual(await iscsiState(), { sessions: 2, records: 2, ifaces: 0 });
  assert.equal((await client.call('getPool', { params: { pool: 'san' } })).state, 'running');

  t = performance.now();
  await cli('pool', 'stop', 'san');
  console.log(`# figure: iscsi pool stop (2 sessions): ${((performance.now() - t) / 1000).toFixed(2)} s`);
  assert.deepEqual(await iscsiState(), NOTHING);
  await cli('pool', 'undefine', 'san');
}

test('iscsi: a start that fails leaves no session, record or interface behind, and says why', async () => {
  const define = async (name: string, source: Record<string, unknown>) => client.call('definePool', { body: { name, type: 'iscsi', source } as never });
  const cases: [string, Record<string, unknown>, string][] = [
    ['a wrong CHAP secret', { portals: PORTALS, iqn: IQN, chapUser: CHAP.user, chapSecret: 'not-the-secret', mutualUser: CHAP.mutualUser, mutualSecret: CHAP.mutualSecret }, 'AUTH_FAILED'],
    ['no CHAP at all', { portals: [PORTALS[0]], iqn: IQN }, 'AUTH_FAILED'],
    ['a wrong mutual secret (the target is not who it says)', { portals: [PORTALS[0]], iqn: IQN, chapUser: CHAP.user, chapSecret: CHAP.secret, mutualUser: CHAP.mutualUser, mutualSecret: 'not-the-target' }, 'AUTH_FAILED'],
    ['no portal there', { portals: ['127.0.0.1:3261'], iqn: IQN, chapUser: CHAP.user, chapSecret: CHAP.secret }, 'UNAVAILABLE'],
    ['a target the portal does not offer', { portals: [PORTALS[0]], iqn: 'iqn.2026-12.test.kvmpool:other', chapUser: CHAP.user, chapSecret: CHAP.secret }, 'NOT_FOUND'],
    ['the second portal fails after the first logged in', { portals: [PORTALS[0], '127.0.0.1:3261'], iqn: IQN, chapUser: CHAP.user, chapSecret: CHAP.secret, mutualUser: CHAP.mutualUser, mutualSecret: CHAP.mutualSecret }, 'UNAVAILABLE'],
    ['its own initiator name, which the target does not know', { portals: [PORTALS[0]], iqn: IQN, initiator: 'iqn.2026-12.test.kvmpool:stranger', chapUser: CHAP.user, chapSecret: CHAP.secret }, 'AUTH_FAILED'],
  ];
  let n = 0;
  for (const [what, source, expected] of cases) {
    const name = `bad${++n}`;
    await define(name, source);
    const started = performance.now();
    const got = await code(client.call('startPool', { params: { pool: name } }));
    console.log(`# figure: ${what}: ${got} in ${((performance.now() - started) / 1000).toFixed(2)} s`);
    assert.match(got, new RegExp(`^(${expected})$`), what);
    assert.deepEqual(await iscsiState(), NOTHING, `${what}: nothing left`);
    await client.call('undefinePool', { params: { pool: name } });
  }
  // An initiator name of the pool's own: logged in through an interface record, which stop removes.
  await define('own', { portals: [PORTALS[0]], iqn: IQN, initiator: INITIATOR, chapUser: CHAP.user, chapSecret: CHAP.secret, mutualUser: CHAP.mutualUser, mutualSecret: CHAP.mutualSecret });
  await client.call('startPool', { params: { pool: 'own' } });
  assert.deepEqual(await iscsiState(), { sessions: 1, records: 1, ifaces: 1 });
  await client.call('stopPool', { params: { pool: 'own' } });
  await client.call('undefinePool', { params: { pool: 'own' } });
  assert.deepEqual(await iscsiState(), NOTHING);

  // Input refused before anything is tried.
  for (const source of [
    { portals: ['127.0.0.1;reboot'], iqn: IQN },
    { portals: ['-p'], iqn: IQN },
    { portals: [PORTALS[0]], iqn: 'not an iqn' },
    { portals: [PORTALS[0]], iqn: IQN, chapUser: 'u' },
    { portals: [PORTALS[0]], iqn: IQN, mutualUser: 'u', mutualSecret: 's' },
  ]) {
    assert.equal(await code(define('worse', source)), 'INVALID_ARGUMENT', JSON.stringify(source));
  }
  assert.deepEqual(await iscsiState(), NOTHING);
});
