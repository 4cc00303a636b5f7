import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../../src/host/exec.js';
import { KvmpoolClient } from '../../../src/client/client.js';
import { KvmpoolError } from '../../../src/model/errors.js';
import { kvmpool, serve, type ServeProcess } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/tmp.js';
import { storageDataConformance, storageDriverConformance, type ConformanceFixture } from '../../conformance/storage-driver.js';
import { iscsiDriver } from '../../../src/drivers/storage/iscsi/iscsi.js';
import { disks } from './disks.js';
import { bootOnVolume } from './guest-vm.js';
import { dropPackets, iscsiTarget, lvmSeesLunsOnly, type TargetChap } from './net-servers.js';

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
  await lvmSeesLunsOnly(work);
  daemon = await serve(home);
  client = new KvmpoolClient({ socketPath: path.join(home, 'kvmpool.sock') });
  await writeFile(path.join(work, 'chap'), `${CHAP.secret}\n`, { mode: 0o600 });
  await writeFile(path.join(work, 'mutual'), `${CHAP.mutualSecret}\n`, { mode: 0o600 });
  await writeFile(path.join(work, 'wrong'), 'not-the-secret\n', { mode: 0o600 });
  // The secrets as the daemon's secret store keeps them (exactly the value), for the driver suite.
  await writeFile(path.join(work, 'chap-exact'), CHAP.secret, { mode: 0o600 });
  await writeFile(path.join(work, 'mutual-exact'), CHAP.mutualSecret!, { mode: 0o600 });
});

after(async () => {
  await daemon?.stop();
  await target?.close();
  await removeWork();
});

/** What the host holds of iSCSI: sessions (sysfs), node records and interface records (open-iscsi's files). */
async function iscsiState(): Promise<{ sessions: number; records: number; ifaces: number; maps: number }> {
  const sessions = (await readdir('/sys/class/iscsi_session').catch(() => [] as string[])).length;
  const { stdout } = await run('find', ['/etc/iscsi/nodes', '-type', 'f']).catch(() => ({ stdout: '' }));
  const ifaces = (await readdir('/etc/iscsi/ifaces').catch(() => [] as string[])).filter((f) => f.startsWith('kvmpool-')).length;
  const maps = (await run('dmsetup', ['ls'])).stdout.split('\n').filter((l) => l.startsWith('kvmpool-')).length;
  return { sessions, records: stdout.split('\n').filter(Boolean).length, ifaces, maps };
}
const NOTHING = { sessions: 0, records: 0, ifaces: 0, maps: 0 };
/** Two portals: a session each, their records, the pool's interface record, a multipath map per LUN. */
const RUNNING = { sessions: 2, records: 2, ifaces: 1, maps: 2 };

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
  assert.deepEqual(await iscsiState(), RUNNING);
  const vols = await client.call('listVolumes', { params: { pool: 'san' } });
  assert.deepEqual(vols.map((v) => [v.name, v.format, v.capacity, v.path]), [
    ['lun-0', 'raw', 512 * 1024 ** 2, '/dev/mapper/kvmpool-san-lun-0'],
    ['lun-1', 'raw', 256 * 1024 ** 2, '/dev/mapper/kvmpool-san-lun-1'],
  ]);
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
  // One path lost (its session logged out behind kvmpool's back): I/O goes on through the other.
  await run('iscsiadm', ['-m', 'node', '-T', IQN, '-p', PORTALS[1]!, '-I', 'kvmpool-san', '--logout']);
  const lostAt = performance.now();
  const degraded = await client.call('getPool', { params: { pool: 'san' } });
  assert.ok(degraded.state === 'degraded' && /127\.0\.0\.2/.test(degraded.reason ?? ''), JSON.stringify(degraded));
  await cli('vol', 'download', 'san/lun-1', path.join(work, 'back2.img'));
  assert.equal(await sha(path.join(work, 'back2.img'), 8 * 1024 ** 2), await sha(file, 8 * 1024 ** 2));
  await cli('vol', 'wipe', 'san/lun-1', '--algorithm', 'zero', '--verify', '--force');
  // The lost portal is logged in to again by the pool's periodic care (30 s after it went), its path back in the maps.
  while ((await client.call('getPool', { params: { pool: 'san' } })).state !== 'running') {
    assert.ok(performance.now() - lostAt < 120_000, 'the lost portal was not logged in to again within 120 s');
    await new Promise((r) => setTimeout(r, 1000));
  }
  console.log(`# figure: a portal logged out behind the pool's back was logged in to again after ${((performance.now() - lostAt) / 1000).toFixed(2)} s`);
  assert.deepEqual(await iscsiState(), RUNNING);
  await cli('pool', 'stop', 'san');
  assert.deepEqual(await iscsiState(), NOTHING);
  await cli('pool', 'start', 'san');
  assert.deepEqual(await iscsiState(), RUNNING);

  // A VM on a LUN (its multipath map): the guest reads what was uploaded and writes its own bytes.
  const pattern = Buffer.alloc(1024 ** 2);
  pattern.write('HOST-LUN-DATA---');
  await writeFile(path.join(work, 'pattern.img'), pattern);
  await cli('vol', 'upload', 'san/lun-1', path.join(work, 'pattern.img'), '--force');
  const booted = await bootOnVolume(client, 'lunvm', { pool: 'san', volume: 'lun-1' });
  console.log(`# figure: a VM (TCG, in the test host) on an iSCSI LUN read and wrote its disk ${booted.seconds.toFixed(2)} s after start`);
  assert.equal(booted.read, 'HOST-LUN-DATA---');
  await cli('vol', 'download', 'san/lun-1', path.join(work, 'written.img'));
  assert.equal((await readFile(path.join(work, 'written.img'))).subarray(4096, 4112).toString(), 'GUEST-WROTE-THIS');

  // The daemon killed while logged in, then started again: the sessions are taken over, not doubled.
  daemon!.child.kill('SIGKILL');
  await new Promise((r) => daemon!.child.once('exit', r));
  daemon = await serve(home);
  assert.deepEqual(await iscsiState(), RUNNING);
  assert.equal((await client.call('getPool', { params: { pool: 'san' } })).state, 'running');

  t = performance.now();
  await cli('pool', 'stop', 'san');
  console.log(`# figure: iscsi pool stop (2 sessions): ${((performance.now() - t) / 1000).toFixed(2)} s`);
  assert.deepEqual(await iscsiState(), NOTHING);

  // The daemon killed while a start logs in: started again, the pool is either running with all its
  // sessions, or stopped with none (what the cut start made is removed).
  const starting = client.call('startPool', { params: { pool: 'san' } }).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 1500));
  daemon!.child.kill('SIGKILL');
  await new Promise((r) => daemon!.child.once('exit', r));
  await starting;
  daemon = await serve(home);
  const state = (await client.call('getPool', { params: { pool: 'san' } })).state;
  console.log(`# figure: a start cut by kill -9 ended as: ${state}`);
  assert.deepEqual(await iscsiState(), state === 'inactive' ? NOTHING : RUNNING, state);
  await cli('pool', 'stop', 'san');
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
  assert.deepEqual(await iscsiState(), { sessions: 1, records: 1, ifaces: 1, maps: 0 });
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

test('iscsi --direct: qemu reaches the LUNs itself, nothing on the host; a VM boots from a LUN; copies out; bad input refused', async () => {
  const [, lun1Disk] = disks();
  // The LUN's first bytes, written on the target's side.
  await run('dd', ['if=/dev/zero', `of=${lun1Disk}`, 'bs=64k', 'count=1', 'oflag=direct', 'status=none']);
  await writeFile(path.join(work, 'direct-pattern'), 'DIRECT-LUN-DATA-');
  await run('dd', [`if=${path.join(work, 'direct-pattern')}`, `of=${lun1Disk}`, 'conv=notrunc,fsync', 'status=none']);
  try {
    await cli('pool', 'define', 'qsan', '--type', 'iscsi', '--direct', '--portal', PORTALS[0]!, '--iqn', IQN, '--chap-user', CHAP.user, '--secret-file', path.join(work, 'chap'));
    const defined = JSON.parse(await cli('--json', 'pool', 'info', 'qsan')) as { source: { initiator?: string } };
    assert.equal(defined.source.initiator, INITIATOR, "the host's own initiator name, fixed at define");
    const t = performance.now();
    await cli('pool', 'start', 'qsan');
    console.log(`# figure: iscsi --direct pool start (LUNs looked at through qemu-img): ${((performance.now() - t) / 1000).toFixed(2)} s`);
    assert.deepEqual(await iscsiState(), NOTHING, 'no session, record, interface or map');
    const vols = await client.call('listVolumes', { params: { pool: 'qsan' } });
    assert.deepEqual(vols.map((v) => [v.name, v.capacity, v.path]), [
      ['lun-0', 512 * 1024 ** 2, `iscsi://${PORTALS[0]}/${IQN}/0`],
      ['lun-1', 256 * 1024 ** 2, `iscsi://${PORTALS[0]}/${IQN}/1`],
    ]);
    assert.ok(vols[1]!.features.includes('clone') && !vols[1]!.features.includes('upload') && !vols[1]!.features.includes('wipe'), vols[1]!.features.join(','));
    assert.equal(await code(client.call('wipeVolume', { params: { pool: 'qsan', volume: 'lun-1' }, body: { force: true } })), 'NOT_SUPPORTED');

    const booted = await bootOnVolume(client, 'directvm', { pool: 'qsan', volume: 'lun-1' }, async () => {
      assert.deepEqual(await iscsiState(), NOTHING, 'the running VM has the LUN without a host session');
      assert.equal(await code(client.call('stopPool', { params: { pool: 'qsan' } })), 'IN_USE', 'a pool a running VM uses keeps running');
    });
    console.log(`# figure: a VM (TCG, in the test host) on a direct iSCSI LUN (libiscsi) read and wrote its disk ${booted.seconds.toFixed(2)} s after start`);
    assert.equal(booted.read, 'DIRECT-LUN-DATA-');

    // Refresh looks again; a daemon killed and started again looks at its running pool again; stop and start.
    await cli('pool', 'refresh', 'qsan');
    daemon!.child.kill('SIGKILL');
    await new Promise((r) => daemon!.child.once('exit', r));
    daemon = await serve(home);
    const again = await client.call('getPool', { params: { pool: 'qsan' } });
    assert.equal(again.state, 'running', JSON.stringify(again));
    assert.equal(again.capacity, (512 + 256) * 1024 ** 2);
    await cli('pool', 'stop', 'qsan');
    await cli('pool', 'start', 'qsan');
    assert.deepEqual((await client.call('listVolumes', { params: { pool: 'qsan' } })).map((v) => v.name), ['lun-0', 'lun-1']);
    assert.deepEqual(await iscsiState(), NOTHING);

    // The target lost (its packets dropped): the periodic care finds the pool degraded, and running again once it is back.
    const state = async () => (await client.call('getPool', { params: { pool: 'qsan' } })).state;
    const letThrough = await dropPackets(3260);
    try {
      const lost = performance.now();
      while ((await state()) !== 'degraded') {
        assert.ok(performance.now() - lost < 60_000, 'still running 60 s after its target went away');
        await new Promise((r) => setTimeout(r, 500));
      }
      console.log(`# figure: --direct: pool degraded ${((performance.now() - lost) / 1000).toFixed(2)} s after its target's packets were dropped`);
    } finally {
      await letThrough();
    }
    const back = performance.now();
    while ((await state()) !== 'running') {
      assert.ok(performance.now() - back < 60_000, 'still degraded 60 s after its target came back');
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(`# figure: --direct: pool running again ${((performance.now() - back) / 1000).toFixed(2)} s after its target came back`);

    // A copy out of the LUN into a file pool, through qemu's iscsi driver too.
    await cli('pool', 'define', 'dlocal', '--type', 'dir', '--target', path.join(work, 'dlocal'));
    await cli('pool', 'build', 'dlocal');
    await cli('pool', 'start', 'dlocal');
    await cli('vol', 'clone', 'qsan/lun-1', 'copy.img', '--to', 'dlocal');
    const copy = await readFile(path.join(work, 'dlocal', 'copy.img'));
    assert.equal(copy.length, 256 * 1024 ** 2);
    assert.equal(copy.subarray(0, 16).toString(), 'DIRECT-LUN-DATA-');
    assert.equal(copy.subarray(4096, 4112).toString(), 'GUEST-WROTE-THIS');
    await cli('pool', 'stop', 'qsan');
    await cli('pool', 'undefine', 'qsan');
    assert.deepEqual(await iscsiState(), NOTHING);

    // Bad input: a wrong secret or no portal there fail the start and leave nothing; what qemu cannot do is refused at define.
    const define = async (name: string, source: Record<string, unknown>) => client.call('definePool', { body: { name, type: 'iscsi', source: { direct: true, ...source } } as never });
    for (const [what, source, expected] of [
      ['a wrong CHAP secret', { portals: [PORTALS[0]], iqn: IQN, chapUser: CHAP.user, chapSecret: 'not-the-secret' }, 'AUTH_FAILED'],
      ['no portal there', { portals: ['127.0.0.1:3261'], iqn: IQN, chapUser: CHAP.user, chapSecret: CHAP.secret }, 'UNAVAILABLE'],
    ] as const) {
      await define('qbad', source);
      const started = performance.now();
      const failure = await client.call('startPool', { params: { pool: 'qbad' } }).then(() => undefined, (e: unknown) => e);
      const got = failure instanceof KvmpoolError ? failure.code : String(failure);
      console.log(`# figure: --direct, ${what}: ${got} in ${((performance.now() - started) / 1000).toFixed(2)} s`);
      assert.equal(got, expected, what);
      assert.ok(!JSON.stringify({ failure, message: (failure as Error).message }).includes('not-the-secret') && !daemon!.output().includes('not-the-secret'), 'the secret is in no answer and no log');
      assert.equal((await client.call('getPool', { params: { pool: 'qbad' } })).state, 'inactive');
      await client.call('undefinePool', { params: { pool: 'qbad' } });
    }
    assert.equal(await code(define('qbad', { portals: PORTALS, iqn: IQN })), 'INVALID_ARGUMENT', 'two portals');
    assert.equal(await code(define('qbad', { portals: [PORTALS[0]], iqn: IQN, chapUser: CHAP.user, chapSecret: CHAP.secret, mutualUser: CHAP.mutualUser, mutualSecret: CHAP.mutualSecret })), 'INVALID_ARGUMENT', 'mutual CHAP');
    assert.deepEqual(await iscsiState(), NOTHING);
  } finally {
    for (const p of ['qsan', 'qbad', 'dlocal']) {
      await kvmpool(['--home', home, 'pool', 'stop', p]);
      await kvmpool(['--home', home, 'pool', 'undefine', p]);
    }
  }
});

test('iscsi: LVM on a LUN: a thin logical pool on it, which needs the iscsi pool running, and keeps it from stopping', async () => {
  const byPath = `/dev/disk/by-path/ip-${PORTALS[0]}-iscsi-${IQN}-lun-0`;
  // udev's link to the LUN, made as udev would (the test host runs no udev).
  const link = async () => {
    await run('rm', ['-f', byPath]);
    const lun = (await client.call('listVolumes', { params: { pool: 'san1' } })).find((v) => v.name === 'lun-0')!;
    await run('mkdir', ['-p', path.dirname(byPath)]);
    await run('ln', ['-sfn', lun.path, byPath]);
  };
  const chap = { chapUser: CHAP.user, chapSecret: CHAP.secret, mutualUser: CHAP.mutualUser, mutualSecret: CHAP.mutualSecret };
  await client.call('definePool', { body: { name: 'san1', type: 'iscsi', source: { portals: [PORTALS[0]], iqn: IQN, ...chap } } as never });
  try {
    await client.call('startPool', { params: { pool: 'san1' } });
    await link();
    await client.call('definePool', { body: { name: 'vgsan', type: 'logical', source: { devices: [byPath], vg: 'vgsan', thinPool: '128M' } } as never });
    await client.call('buildPool', { params: { pool: 'vgsan' } });
    await client.call('startPool', { params: { pool: 'vgsan' } });
    await client.call('createVolume', { params: { pool: 'vgsan' }, body: { name: 'thin1', capacity: '256M', thin: true } as never });
    const thin = await client.call('getVolume', { params: { pool: 'vgsan', volume: 'thin1' } });
    await run('qemu-io', ['-f', 'raw', '-c', 'write -P 5 0 4M', thin.path]);

    const stopSan = await code(client.call('stopPool', { params: { pool: 'san1' } }));
    assert.equal(stopSan, 'IN_USE');
    const err = await client.call('stopPool', { params: { pool: 'san1' } }).catch((e: KvmpoolError) => e);
    assert.match(String((err as KvmpoolError).message), /pool 'vgsan' runs on/);
    assert.equal((await iscsiState()).sessions, 1, 'still logged in');

    await client.call('stopPool', { params: { pool: 'vgsan' } });
    await client.call('stopPool', { params: { pool: 'san1' } });
    const refused = await client.call('startPool', { params: { pool: 'vgsan' } }).catch((e: KvmpoolError) => e);
    assert.ok(refused instanceof KvmpoolError && refused.code === 'POOL_NOT_ACTIVE' && /pool 'san1'/.test(refused.message), String(refused));

    await client.call('startPool', { params: { pool: 'san1' } });
    await link();
    await client.call('startPool', { params: { pool: 'vgsan' } });
    const again = await client.call('getVolume', { params: { pool: 'vgsan', volume: 'thin1' } });
    const { stdout } = await run('qemu-io', ['-f', 'raw', '-c', 'read -P 5 0 4M', again.path]);
    assert.match(stdout, /read 4194304\/4194304 bytes/);
    await client.call('deleteVolume', { params: { pool: 'vgsan', volume: 'thin1' } });
    await client.call('stopPool', { params: { pool: 'vgsan' } });
    await client.call('deletePool', { params: { pool: 'vgsan' } });
  } finally {
    // The volume group goes too (pool delete), so that no PV label is left on the LUN.
    for (const args of [['stop', 'vgsan'], ['delete', 'vgsan'], ['undefine', 'vgsan'], ['stop', 'san1'], ['undefine', 'san1']]) {
      const r = await kvmpool(['--home', home, 'pool', ...args]);
      if (r.code !== 0) console.log(`# cleanup: pool ${args.join(' ')}: ${r.stderr.trim()}`);
    }
    await run('rm', ['-f', byPath]);
  }
  assert.deepEqual(await iscsiState(), NOTHING);
});

// The shared suite on the target's LUNs (made on the target, not by the pool), through one portal with mutual CHAP.
const iscsiFixture: ConformanceFixture = {
  driver: iscsiDriver,
  makePool: async () => ({
    def: await iscsiDriver.validate({
      name: 'conf', type: 'iscsi', target: '', autostart: false,
      source: { portals: [PORTALS[0]!], iqn: IQN, chapUser: CHAP.user, mutualUser: CHAP.mutualUser },
      secrets: { chapSecret: path.join(work, 'chap-exact'), mutualSecret: path.join(work, 'mutual-exact') },
    }),
    cleanup: async () => {
      await iscsiDriver.forget!(await iscsiDriver.validate({ name: 'conf', type: 'iscsi', target: '', autostart: false, source: { portals: [PORTALS[0]!], iqn: IQN }, secrets: {} }));
    },
  }),
  skip: { qcow2: 'LUNs are raw' },
  provided: { names: ['lun-1', 'lun-0'], reason: 'LUNs are made on the target, not by the pool' },
};
storageDriverConformance('iscsi (LIO)', iscsiFixture);
storageDataConformance('iscsi (LIO)', iscsiFixture);
test('iscsi: the driver suite left no session, record, interface or map', async () => {
  assert.deepEqual(await iscsiState(), NOTHING);
});
