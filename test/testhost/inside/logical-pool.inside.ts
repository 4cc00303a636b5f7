import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { run } from '../../../src/host/exec.js';
import type { JobInfo } from '../../../src/model/job-types.js';
import type { VolumeBody } from '../../../src/api/schemas.js';
import { withDaemon, type TestDaemon } from '../../helpers/daemon.js';
import { FileWriter } from '../../../src/transfer/file-writer.js';
import { readSparse } from '../../../src/transfer/sparse-reader.js';
import { writeSparse } from '../../../src/transfer/sparse-writer.js';
import { waitHoldsOpen } from '../../helpers/proc.js';
import { blankDisks, disks } from './disks.js';

const MiB = 1024 * 1024;

/** sha256 of the first `bytes` of a device or file. */
async function sha(file: string, bytes: number): Promise<string> {
  const { stdout } = await run('sh', ['-c', `head -c ${bytes} "$0" | sha256sum`, file]);
  return stdout.split(' ')[0]!;
}

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const out = await fn();
  console.log(`# figure: ${what}: ${((performance.now() - start) / 1000).toFixed(2)} s`);
  return out;
}

const vol = (t: TestDaemon, name: string) => t.client.call('getVolume', { params: { pool: 'lv', volume: name } });
const create = async (t: TestDaemon, body: Record<string, unknown>) => (await t.client.call('createVolume', { params: { pool: 'lv' }, body: body as never })) as VolumeBody;

/**
 * Writes `pattern` over the start of `device` again and again (O_DIRECT) until stopped, holding the
 * device open all along as a VM would (fd 3, each round opened again through /proc/self/fd/3). The path is
 * opened once: LVM, without udev here, briefly replaces its /dev/VG/LV links and /dev/mapper nodes while
 * it resizes or moves an LV.
 */
async function keepWriting(pattern: string, device: string) {
  const dd = (of: string) => ['dd', `if=${pattern}`, `of=${of}`, 'bs=1M', 'oflag=direct', 'conv=notrunc,nocreat', 'status=none'];
  const loop = 'exec 3<>"$0" || exit 1; while :; do "$@" || exit 1; done';
  const writer = spawn('sh', ['-c', loop, device, ...dd('/proc/self/fd/3')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  writer.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => writer.once('exit', (code) => r(code)));
  return {
    pid: writer.pid,
    stop: async () => {
      const early = writer.exitCode;
      writer.kill('SIGTERM');
      await exited;
      assert.equal(early, null, `the writer stopped on its own: ${stderr}`);
      // The last round may have been cut: one more, whole.
      const last = dd(device);
      await run(last[0]!, last.slice(1));
    },
  };
}

test('a logical pool: thin over-commit, snapshots, instant clones, striped and raid1 volumes, online grow, extend and online shrink', () =>
  withDaemon(async (t) => {
    const [a, b, c] = disks();
    await blankDisks();
    await t.client.call('definePool', { body: { name: 'lv', type: 'logical', source: { devices: [a!, b!], vg: 'kvmtest', thinPool: '512M' } } });
    await t.client.call('buildPool', { params: { pool: 'lv' } });
    await t.client.call('startPool', { params: { pool: 'lv' } });

    // Twenty thin volumes of 100 MiB over-commit the 512 MiB thin pool about four times.
    for (let i = 0; i < 20; i++) await create(t, { name: `t${i}`, capacity: '100M', thin: true });
    const pool = await t.client.call('getPool', { params: { pool: 'lv' } });
    assert.equal(pool.devices?.length, 2);
    assert.ok(pool.thin && pool.thin.overcommit > 3.8 && pool.thin.overcommit < 4.1, JSON.stringify(pool.thin));
    const t0 = await vol(t, 't0');
    assert.equal(t0.kind, 'thin');
    assert.ok(t0.features.includes('clone-reflink'));

    // A thin snapshot and a revert to it.
    const pattern = path.join(process.env['TMPDIR'] ?? '/tmp', 'pattern');
    await writeFile(pattern, randomBytes(32 * MiB));
    await run('dd', [`if=${pattern}`, `of=${t0.path}`, 'bs=1M', 'oflag=direct', 'status=none']);
    const original = await sha(t0.path, 32 * MiB);
    const snap = await timed('thin snapshot', () => t.client.call('createSnapshot', { params: { pool: 'lv', volume: 't0' }, body: { name: 's1' } }));
    assert.equal(snap.kind, 'thin');
    await run('dd', ['if=/dev/urandom', `of=${t0.path}`, 'bs=1M', 'count=8', 'oflag=direct', 'status=none']);
    assert.notEqual(await sha(t0.path, 32 * MiB), original);
    const { job } = await t.client.call('revertSnapshot', { params: { pool: 'lv', volume: 't0', snapshot: 's1' } });
    const thinRevert = await t.client.waitJob((job as JobInfo).id);
    assert.equal(thinRevert.state, 'succeeded', JSON.stringify(thinRevert.error));
    assert.equal(await sha(t0.path, 32 * MiB), original);
    assert.deepEqual((await t.client.call('listSnapshots', { params: { pool: 'lv', volume: 't0' } })).map((s) => s.name), ['s1']);

    // An instant clone: a thin snapshot that is a volume of its own.
    const cloned = await timed('thin clone', async () => {
      const { job: cj } = await t.client.call('cloneVolume', { params: { pool: 'lv', volume: 't0' }, body: { name: 't0-clone' } });
      return t.client.waitJob(cj.id);
    });
    const made = cloned.result as { volume: { pool: string; name: string }; method: string };
    assert.deepEqual({ volume: `${made.volume.pool}/${made.volume.name}`, method: made.method }, { volume: 'lv/t0-clone', method: 'reflink' });
    const clone = await vol(t, 't0-clone');
    assert.equal(await sha(clone.path, 32 * MiB), original);

    // Striped and mirrored volumes; a copy-on-write snapshot needs a size.
    const striped = await create(t, { name: 'st', capacity: '64M', stripes: 2, stripeSize: '64K' });
    assert.equal(striped.kind, 'striped');
    const mirrored = await create(t, { name: 'mi', capacity: '64M', mirrors: 1 });
    assert.equal(mirrored.kind, 'raid1');
    await assert.rejects(t.client.call('createSnapshot', { params: { pool: 'lv', volume: 'st' }, body: { name: 'c1' } }), { code: 'INVALID_ARGUMENT' });
    const cow = await timed('copy-on-write snapshot', () => t.client.call('createSnapshot', { params: { pool: 'lv', volume: 'st' }, body: { name: 'c1', size: '16M' } }));
    assert.equal(cow.kind, 'cow');
    assert.equal(cow.capacity, 64 * MiB);
    // Revert merges it back (and takes it again, so it stays).
    await run('dd', [`if=${pattern}`, `of=${striped.path}`, 'bs=1M', 'count=8', 'oflag=direct', 'status=none']);
    const { job: rj } = await t.client.call('revertSnapshot', { params: { pool: 'lv', volume: 'st', snapshot: 'c1' } });
    const reverted = await t.client.waitJob((rj as JobInfo).id);
    assert.equal(reverted.state, 'succeeded', JSON.stringify(reverted.error));
    assert.equal(await sha(striped.path, 32 * MiB), await sha('/dev/zero', 32 * MiB));
    assert.deepEqual((await t.client.call('listSnapshots', { params: { pool: 'lv', volume: 'st' } })).map((x) => x.kind), ['cow']);
    await t.client.call('deleteSnapshot', { params: { pool: 'lv', volume: 'st', snapshot: 'c1' } });
    // More changes than its room: the snapshot is invalid, listed so, and can only be deleted.
    await t.client.call('createSnapshot', { params: { pool: 'lv', volume: 'st' }, body: { name: 'small', size: '4M' } });
    await run('dd', [`if=${pattern}`, `of=${striped.path}`, 'bs=1M', 'count=16', 'oflag=direct', 'status=none']);
    assert.deepEqual((await t.client.call('listSnapshots', { params: { pool: 'lv', volume: 'st' } })).map((x) => [x.name, x.invalid]), [['small', true]]);
    await assert.rejects(t.client.call('revertSnapshot', { params: { pool: 'lv', volume: 'st', snapshot: 'small' } }), { code: 'INVALID_ARGUMENT' });
    await t.client.call('deleteSnapshot', { params: { pool: 'lv', volume: 'st', snapshot: 'small' } });

    // Download a volume and upload it into another (O_DIRECT on the LVs, holes not sent).
    const local = path.join(process.env['TMPDIR'] ?? '/tmp', 'download.img');
    const dl = await t.client.download('lv', 't0');
    const out = await FileWriter.open(local, true);
    const got = await writeSparse(out, dl.frames, { start: 0, holes: 'skip' });
    await out.sync();
    await out.fh.truncate(got.end);
    await out.close();
    assert.equal(got.end, 100 * MiB);
    assert.equal(await sha(local, 32 * MiB), original);
    const up = await t.client.upload('lv', 't1', readSparse(local, 0, got.end, { hash: false }));
    assert.equal(up.sha256, got.sha256);
    assert.equal(await sha((await vol(t, 't1')).path, 32 * MiB), original);

    // Online grow of a volume a process is writing to.
    const writer = await keepWriting(pattern, (await vol(t, 'mi')).path);
    try {
      await waitHoldsOpen(writer.pid!, (await vol(t, 'mi')).path);
      await assert.rejects(t.client.call('deleteVolume', { params: { pool: 'lv', volume: 'mi' } }), { code: 'IN_USE' });
      const grown = await t.client.call('resizeVolume', { params: { pool: 'lv', volume: 'mi' }, body: { capacity: '128M' } });
      assert.equal(grown.capacity, 128 * MiB);
      const { stdout } = await run('blockdev', ['--getsize64', grown.path]);
      assert.equal(Number(stdout), 128 * MiB);
    } finally {
      await writer.stop();
    }
    assert.equal(await sha((await vol(t, 'mi')).path, 32 * MiB), original);

    // A third disk joins; then the first is emptied while a volume on it is being written.
    const extended = await t.client.call('extendPool', { params: { pool: 'lv' }, body: { device: c! } });
    assert.deepEqual(extended.devices?.map((d) => d.path), [a, b, c]);
    const moving = await create(t, { name: 'mv', capacity: '64M' });
    const busy = await keepWriting(pattern, moving.path);
    try {
      const { job: sj } = await t.client.call('shrinkPool', { params: { pool: 'lv' }, body: { device: a! } });
      const end = await timed('pvmove of the first disk (online)', () => t.client.waitJob((sj as JobInfo).id));
      assert.equal(end.state, 'succeeded', JSON.stringify(end.error));
    } finally {
      await busy.stop();
    }
    const after = await t.client.call('getPool', { params: { pool: 'lv' } });
    assert.deepEqual(after.devices?.map((d) => d.path), [b, c]);
    assert.deepEqual(after.source?.devices, [b, c]);
    const { stdout: pvs } = await run('lvm', ['pvs', '--noheadings', '-o', 'pv_name,vg_name']);
    assert.ok(!pvs.split('\n').some((l) => l.trim().startsWith(a!)), pvs);
    for (const v of ['mv', 'mi']) assert.equal(await sha((await vol(t, v)).path, 32 * MiB), original, v);
    assert.equal(await sha((await vol(t, 't0')).path, 32 * MiB), original);
    assert.equal(await sha((await vol(t, 't0-clone')).path, 32 * MiB), original);

    // Stop deactivates kvmpool's LVs one by one; start brings them back.
    await t.client.call('stopPool', { params: { pool: 'lv' }, body: {} });
    const { stdout: active } = await run('lvm', ['lvs', '--noheadings', '-o', 'lv_name,lv_active', 'kvmtest']);
    assert.ok(!active.includes('active'), active);
    await t.client.call('startPool', { params: { pool: 'lv' } });
    assert.equal(await sha((await vol(t, 'mv')).path, 32 * MiB), original);
    await blankDisks();
  }));
