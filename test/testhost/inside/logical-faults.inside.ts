import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../../src/host/exec.js';
import type { JobInfo } from '../../../src/model/job-types.js';
import { recordEvents, withDaemon, type TestDaemon } from '../../helpers/daemon.js';
import { blankDisks, disks } from './disks.js';

const MiB = 1024 * 1024;

const define = (t: TestDaemon, name: string, source: Record<string, unknown>) => t.client.call('definePool', { body: { name, type: 'logical', source } as never });
const build = (t: TestDaemon, pool: string, overwrite = false) => t.client.call('buildPool', { params: { pool }, body: { overwrite } });
const create = (t: TestDaemon, pool: string, body: Record<string, unknown>) => t.client.call('createVolume', { params: { pool }, body: body as never });
const path0 = async (t: TestDaemon, pool: string, volume: string) => (await t.client.call('getVolume', { params: { pool, volume } })).path;

async function sha(file: string, bytes: number): Promise<string> {
  const { stdout } = await run('sh', ['-c', `head -c ${bytes} "$0" | sha256sum`, file]);
  return stdout.split(' ')[0]!;
}

/** dd that may fail (a full thin pool); resolves with its exit code. */
async function dd(args: string[]): Promise<number> {
  return run('dd', [...args, 'oflag=direct', 'status=none']).then(
    () => 0,
    (e: { details?: { exitCode?: number } }) => e.details?.exitCode ?? -1,
  );
}

test('logical pools refuse mounted, taken and too small devices and names LVM rejects, and never touch foreign LVs', () =>
  withDaemon(async (t) => {
    const [a, b, c, small] = disks();
    await blankDisks();
    try {
      await assert.rejects(define(t, 'x', { devices: [a], vg: 'bad name' }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(define(t, 'x', { devices: [a], vg: '-x' }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(define(t, 'x', { devices: [a, a] }), { code: 'INVALID_ARGUMENT' });

      // Mounted: in use, even when handed over.
      await run('mkfs.ext4', ['-q', '-F', c!]);
      const mnt = path.join(process.env['TMPDIR']!, 'mnt');
      await mkdir(mnt, { recursive: true });
      await run('mount', [c!, mnt]);
      await define(t, 'm', { devices: [c], vg: 'kvmm' });
      try {
        await assert.rejects(build(t, 'm', true), { code: 'IN_USE' });
      } finally {
        await run('umount', [mnt]);
      }
      // Carrying a file system: kept unless handed over.
      await assert.rejects(build(t, 'm'), { code: 'DEVICE_NOT_EMPTY' });
      await build(t, 'm', true);
      await t.client.call('deletePool', { params: { pool: 'm' }, body: {} });
      const { stdout: afterDelete } = await run('lvm', ['pvs', '--noheadings', '-o', 'pv_name']);
      assert.ok(!afterDelete.includes(c!), afterDelete);

      // A PV of another VG is never taken, not even with overwrite; a foreign VG can be adopted by name.
      await run('lvm', ['vgcreate', '-q', 'foreign', b!]);
      await run('lvm', ['lvcreate', '-q', '--yes', '-n', 'theirs', '-L', '8m', 'foreign']);
      await define(t, 'p', { devices: [b], vg: 'kvmp' });
      await assert.rejects(build(t, 'p', true), { code: 'IN_USE' });
      await define(t, 'adopted', { vg: 'foreign' });
      await build(t, 'adopted');
      await t.client.call('startPool', { params: { pool: 'adopted' } });
      const theirs = await t.client.call('getVolume', { params: { pool: 'adopted', volume: 'theirs' } });
      assert.equal(theirs.managed, false);
      await assert.rejects(t.client.call('deleteVolume', { params: { pool: 'adopted', volume: 'theirs' } }), { code: 'FOREIGN_VOLUME' });
      await t.client.call('stopPool', { params: { pool: 'adopted' }, body: {} });
      const { stdout: still } = await run('lvm', ['lvs', '--noheadings', '-o', 'lv_active', 'foreign/theirs']);
      assert.equal(still.trim(), 'active', 'stopping the pool leaves LVs it did not create alone');
      // Its volumes keep it from being deleted; undefined, the VG and its LVs stay as they were.
      await assert.rejects(t.client.call('deletePool', { params: { pool: 'adopted' }, body: {} }), { code: 'POOL_NOT_EMPTY' });
      await t.client.call('undefinePool', { params: { pool: 'adopted' } });
      await run('lvm', ['lvs', 'foreign/theirs']);

      // Too small to be a PV.
      await define(t, 's', { devices: [small], vg: 'kvms' });
      await assert.rejects(build(t, 's'), { code: 'INVALID_ARGUMENT' });

      // Layouts and names LVM would refuse, refused first.
      await define(t, 'ok', { devices: [a], vg: 'kvmok' });
      await build(t, 'ok');
      await t.client.call('startPool', { params: { pool: 'ok' } });
      await assert.rejects(create(t, 'ok', { name: 'snapshot1', capacity: '8M' }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(create(t, 'ok', { name: 'a_tmeta', capacity: '8M' }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(create(t, 'ok', { name: 'st', capacity: '8M', stripes: 2 }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(create(t, 'ok', { name: 'th', capacity: '8M', thin: true }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(create(t, 'ok', { name: 'q', capacity: '8M', format: 'qcow2' }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(create(t, 'ok', { name: 'huge', capacity: '10G' }), { code: 'NO_SPACE' });
      await assert.rejects(create(t, 'ok', { name: 'x_kvmpool_upload', capacity: '8M' }), { code: 'INVALID_ARGUMENT' });
      assert.deepEqual(await t.client.call('listVolumes', { params: { pool: 'ok' } }), []);
      // A snapshot someone took by hand of a kvmpool volume keeps that volume (lvremove would take it along).
      await create(t, 'ok', { name: 'v', capacity: '8M' });
      await run('lvm', ['lvcreate', '-q', '--yes', '--snapshot', '-n', 'handmade', '-L', '4m', 'kvmok/v']);
      await assert.rejects(t.client.call('deleteVolume', { params: { pool: 'ok', volume: 'v' } }), { code: 'IN_USE' });
      await run('lvm', ['lvs', 'kvmok/handmade']);
      await assert.rejects(build(t, 'ok'), { code: 'POOL_ACTIVE' });

      // An upload swap cut short by a crash is repaired when the pool starts: before the stage took
      // the name, the old volume comes back; after, the new one stays and the old one goes.
      await create(t, 'ok', { name: 'a', capacity: '8M' });
      await create(t, 'ok', { name: 'b', capacity: '8M' });
      await run('dd', ['if=/dev/urandom', `of=${await path0(t, 'ok', 'a')}`, 'bs=1M', 'count=8', 'oflag=direct', 'status=none']);
      const aSha = await sha(await path0(t, 'ok', 'a'), 8 * MiB);
      await run('lvm', ['lvrename', 'kvmok', 'a', 'a_kvmpool_old']);
      await run('lvm', ['lvcreate', '-q', '--yes', '--addtag', 'kvmpool_stage', '-n', 'a_kvmpool_upload', '-L', '8m', 'kvmok']);
      await run('lvm', ['lvcreate', '-q', '--yes', '--addtag', 'kvmpool', '-n', 'b_kvmpool_old', '-L', '8m', 'kvmok']);
      await t.client.call('stopPool', { params: { pool: 'ok' }, body: {} });
      await t.client.call('startPool', { params: { pool: 'ok' } });
      const { stdout: lvNames } = await run('lvm', ['lvs', '--noheadings', '-o', 'lv_name', 'kvmok']);
      assert.deepEqual(lvNames.split('\n').map((l) => l.trim()).filter((l) => l !== '').sort(), ['a', 'b', 'handmade', 'v']);
      assert.equal(await sha(await path0(t, 'ok', 'a'), 8 * MiB), aSha);
    } finally {
      await blankDisks();
    }
  }));

test('a thin pool that fills up: the writer gets an I/O error, the pool says so, the rest is intact, freeing space recovers; it can grow itself', () =>
  withDaemon(async (t) => {
    const [a, b] = disks();
    await blankDisks();
    const events = await recordEvents(t.client);
    try {
      await define(t, 'tp', { devices: [a], vg: 'kvmtp', thinPool: '64M' });
      await build(t, 'tp');
      await t.client.call('startPool', { params: { pool: 'tp' } });
      await create(t, 'tp', { name: 'v1', capacity: '200M', thin: true });
      await create(t, 'tp', { name: 'v2', capacity: '200M', thin: true });
      const v2 = await path0(t, 'tp', 'v2');
      assert.equal(await dd(['if=/dev/urandom', `of=${v2}`, 'bs=1M', 'count=16']), 0);
      const before = await sha(v2, 16 * MiB);
      assert.notEqual(await dd(['if=/dev/urandom', `of=${await path0(t, 'tp', 'v1')}`, 'bs=1M', 'count=100']), 0, 'writing past a full thin pool fails');

      const full = await t.client.call('getPool', { params: { pool: 'tp' } });
      assert.equal(full.state, 'degraded');
      assert.match(full.reason ?? '', /thin pool is 100/);
      assert.equal(full.thin?.dataPercent, 100);
      await t.client.call('refreshPool', { params: { pool: 'tp' } });
      assert.match(String((await events.first('pool.thin.warning')).data && JSON.stringify((await events.first('pool.thin.warning')).data)), /100/);
      assert.equal(await sha(v2, 16 * MiB), before);
      await run('lvm', ['vgck', 'kvmtp']);

      // Still usable: deleting the volume that filled it gives the space back.
      await t.client.call('deleteVolume', { params: { pool: 'tp', volume: 'v1' } });
      const freed = await t.client.call('getPool', { params: { pool: 'tp' } });
      assert.equal(freed.state, 'running', JSON.stringify(freed));
      assert.equal(await dd(['if=/dev/urandom', `of=${v2}`, 'bs=1M', 'count=8', 'seek=20']), 0);
      assert.equal(await sha(v2, 16 * MiB), before);

      // A pool that may grow its thin pool does so past the threshold.
      await define(t, 'grow', { devices: [b], vg: 'kvmgrow', thinPool: '64M', thinAutoExtend: true });
      await build(t, 'grow');
      await t.client.call('startPool', { params: { pool: 'grow' } });
      await create(t, 'grow', { name: 'g', capacity: '200M', thin: true });
      assert.equal(await dd(['if=/dev/urandom', `of=${await path0(t, 'grow', 'g')}`, 'bs=1M', 'count=56']), 0);
      await t.client.call('refreshPool', { params: { pool: 'grow' } });
      const extended = await events.first('pool.thin.extended');
      assert.equal(extended.subject, 'grow');
      const grown = await t.client.call('getPool', { params: { pool: 'grow' } });
      assert.ok((grown.thin?.size ?? 0) > 64 * MiB, JSON.stringify(grown.thin));
    } finally {
      await events.stop();
      await blankDisks();
    }
  }));

test('a pvmove cancelled half way leaves the volume group consistent and the data where it was', () =>
  withDaemon(async (t) => {
    const [a, b] = disks();
    await blankDisks();
    try {
      await define(t, 'mv', { devices: [a, b], vg: 'kvmmv' });
      await build(t, 'mv');
      await t.client.call('startPool', { params: { pool: 'mv' } });
      await create(t, 'mv', { name: 'big', capacity: '200M' });
      const big = await path0(t, 'mv', 'big');
      await run('dd', ['if=/dev/urandom', `of=${big}`, 'bs=1M', 'count=200', 'oflag=direct', 'status=none']);
      const before = await sha(big, 200 * MiB);
      const { job } = await t.client.call('shrinkPool', { params: { pool: 'mv' }, body: { device: a! } });
      const id = (job as JobInfo).id;
      for (let i = 0; i < 200 && (await t.client.call('getJob', { params: { id } })).progress.done === 0; i++) await new Promise((r) => setTimeout(r, 100));
      await t.client.call('cancelJob', { params: { id } });
      const end = await t.client.waitJob(id);
      assert.equal(end.state, 'cancelled', JSON.stringify(end));
      await run('lvm', ['vgck', 'kvmmv']);
      const { stdout: hidden } = await run('lvm', ['lvs', '-a', '--noheadings', '-o', 'lv_name', 'kvmmv']);
      assert.ok(!hidden.includes('pvmove'), hidden);
      const pool = await t.client.call('getPool', { params: { pool: 'mv' } });
      assert.deepEqual(pool.devices?.map((d) => d.path), [a, b]);
      assert.equal(pool.state, 'running');
      assert.equal(await sha(big, 200 * MiB), before);
    } finally {
      await blankDisks();
    }
  }));

test('a device that fails while the pool runs makes it degraded with the reason, and it recovers when the device is back', () =>
  withDaemon(async (t) => {
    const [, , c] = disks();
    await blankDisks();
    // The mapped device starts 1 MiB into the disk, so LVM does not see its label twice (there and on the disk).
    const { stdout: sectors } = await run('blockdev', ['--getsz', c!]);
    const table = (target: string) => `0 ${Number(sectors) - 2048} ${target}`;
    // No udev in the test host: dmsetup makes its device node itself.
    const dmsetup = (...args: string[]) => run('dmsetup', ['--noudevsync', ...args]);
    await dmsetup('create', 'kvmflaky', '--table', table(`linear ${c} 2048`));
    await dmsetup('mknodes', 'kvmflaky');
    try {
      await define(t, 'f', { devices: ['/dev/mapper/kvmflaky'], vg: 'kvmflaky' });
      await build(t, 'f');
      await t.client.call('startPool', { params: { pool: 'f' } });
      await create(t, 'f', { name: 'v', capacity: '8M' });
      // The disk goes away: every read and write of it fails.
      await dmsetup('suspend', 'kvmflaky');
      await dmsetup('reload', 'kvmflaky', '--table', table('error'));
      await dmsetup('resume', 'kvmflaky');
      const gone = await t.client.call('getPool', { params: { pool: 'f' } });
      assert.equal(gone.state, 'degraded', JSON.stringify(gone));
      assert.ok(gone.reason, 'a reason is given');
      await assert.rejects(create(t, 'f', { name: 'w', capacity: '8M' }), { code: 'POOL_DEGRADED' });
      // The daemon is fine, and so is the pool once the disk is back.
      await dmsetup('suspend', 'kvmflaky');
      await dmsetup('reload', 'kvmflaky', '--table', table(`linear ${c} 2048`));
      await dmsetup('resume', 'kvmflaky');
      assert.equal((await t.client.call('getPool', { params: { pool: 'f' } })).state, 'running');
    } finally {
      await run('lvm', ['vgremove', '--yes', '--force', 'kvmflaky']).catch(() => undefined);
      await dmsetup('remove', '--force', 'kvmflaky').catch(() => undefined);
      await blankDisks();
    }
  }));
