import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { JobBody, VolumeBody } from '../../src/api/schemas.js';
import { rawCall, recordEvents, startPool, withDaemon, workDone, type TestDaemon } from '../helpers/daemon.js';
import { mountReflinkFs } from '../helpers/xfs.js';
import { allocated, qemuReads, qemuWrite, sameContent, sha256File, writePattern } from '../helpers/image.js';

const MiB = 1024 * 1024;

const pool = (t: TestDaemon, name: string, target: string) => startPool(t, name, target);
const create = async (t: TestDaemon, pool: string, body: Record<string, unknown>) => (await rawCall(t.client, 'createVolume', { params: { pool }, body })) as VolumeBody;
const vol = (t: TestDaemon, pool: string, volume: string) => t.client.call('getVolume', { params: { pool, volume } });

async function clone(t: TestDaemon, pool: string, volume: string, body: Record<string, unknown>): Promise<JobBody> {
  const { job } = await rawCall(t.client, 'cloneVolume', { params: { pool, volume }, body });
  return t.client.waitJob(job.id);
}
/** A clone job's result (the new volume and the method) as `POOL/VOLUME` and the method. */
const result = (j: JobBody) => {
  const r = j.result as { volume: VolumeBody; method: string };
  return { volume: `${r.volume.pool}/${r.volume.name}`, method: r.method };
};

/** A 64 MiB raw volume with 16 MiB written in two places (the rest holes). */
async function sparseSource(t: TestDaemon, pool: string, name = 'src.img'): Promise<VolumeBody> {
  const v = await create(t, pool, { name, capacity: '64M' });
  await writePattern(v.path, 0, 8 * MiB, 0xa5);
  await writePattern(v.path, 40 * MiB, 8 * MiB, 0x5a);
  return vol(t, pool, name);
}

test('clone on a file system without reflink is a sparse copy; on xfs with reflink it shares extents', () =>
  withDaemon(async (t) => {
    const ext = await pool(t, 'ext', path.join(t.home, 'ext'));
    const src = await sparseSource(t, 'ext');
    const copied = await clone(t, 'ext', 'src.img', { name: 'copy.img' });
    assert.equal(copied.state, 'succeeded');
    assert.deepEqual(result(copied), { volume: 'ext/copy.img', method: 'copy' });
    const c = await vol(t, 'ext', 'copy.img');
    assert.equal(await sha256File(c.path), await sha256File(src.path));
    assert.ok(c.allocation <= src.allocation + MiB, `sparse kept: ${c.allocation} vs ${src.allocation}`);
    assert.equal(c.managed, true);
    assert.ok(!c.features.includes('clone-reflink'));
    await assert.rejects(clone(t, 'ext', 'src.img', { name: 'r.img', method: 'reflink' }).then((j) => j), { code: 'NOT_SUPPORTED' });

    const fs = await mountReflinkFs(t.home);
    try {
      await pool(t, 'xfs', path.join(fs.mountpoint, 'pool'));
      const xsrc = await sparseSource(t, 'xfs');
      assert.ok(xsrc.features.includes('clone-reflink') && xsrc.features.includes('snapshot'));
      const usedBefore = await used(fs.mountpoint);
      const r = await clone(t, 'xfs', 'src.img', { name: 'clone.img' });
      assert.deepEqual(result(r), { volume: 'xfs/clone.img', method: 'reflink' });
      const rc = await vol(t, 'xfs', 'clone.img');
      assert.equal(await sha256File(rc.path), await sha256File(xsrc.path));
      assert.equal(rc.allocation, xsrc.allocation, 'the clone maps the same extents');
      assert.ok((await used(fs.mountpoint)) - usedBefore < MiB, 'no data was copied');
      await t.client.call('stopPool', { params: { pool: 'xfs' } });
    } finally {
      await fs.unmount();
    }
    assert.ok(ext);
  }));

async function used(dir: string): Promise<number> {
  const s = await statfs(dir);
  return (s.blocks - s.bfree) * s.bsize;
}

test('copy converts between pools and formats; a linked clone is an overlay that holds its source', () =>
  withDaemon(async (t) => {
    await pool(t, 'a', path.join(t.home, 'a'));
    await pool(t, 'b', path.join(t.home, 'b'));
    const src = await sparseSource(t, 'a');
    const q = await clone(t, 'a', 'src.img', { name: 'src.qcow2', pool: 'b', format: 'qcow2' });
    assert.deepEqual(result(q), { volume: 'b/src.qcow2', method: 'copy' });
    const qv = await vol(t, 'b', 'src.qcow2');
    assert.equal(qv.format, 'qcow2');
    assert.equal(qv.capacity, src.capacity);
    assert.ok(await sameContent(src.path, 'raw', qv.path, 'qcow2'));
    assert.ok(qv.allocation < 24 * MiB, `qcow2 copy stays sparse: ${qv.allocation}`);
    const back = await clone(t, 'b', 'src.qcow2', { name: 'back.img', pool: 'a', format: 'raw' });
    assert.equal(await sha256File((await vol(t, 'a', 'back.img')).path), await sha256File(src.path));
    assert.equal(back.state, 'succeeded');

    const linked = await clone(t, 'b', 'src.qcow2', { name: 'vm1.qcow2', method: 'linked' });
    assert.deepEqual(result(linked), { volume: 'b/vm1.qcow2', method: 'linked' });
    const lv = await vol(t, 'b', 'vm1.qcow2');
    assert.equal(lv.backingFile, 'src.qcow2');
    assert.equal(lv.backingFormat, 'qcow2');
    assert.ok(lv.allocation < MiB);
    assert.ok(await sameContent(lv.path, 'qcow2', src.path, 'raw'));
    await assert.rejects(t.client.call('deleteVolume', { params: { pool: 'b', volume: 'src.qcow2' } }), { code: 'IN_USE' });
    await assert.rejects(clone(t, 'b', 'src.qcow2', { name: 'x.qcow2', method: 'linked', pool: 'a' }), { code: 'NOT_SUPPORTED' });
    await assert.rejects(clone(t, 'b', 'src.qcow2', { name: 'vm1.qcow2' }), { code: 'ALREADY_EXISTS' });
    await assert.rejects(clone(t, 'b', 'src.qcow2', { name: 'y', method: 'teleport' }), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(clone(t, 'b', 'nope', { name: 'y' }), { code: 'NOT_FOUND' });
    assert.deepEqual((await readdir(path.join(t.home, 'b'))).sort(), ['src.qcow2', 'vm1.qcow2']);
  }));

test('a cancelled copy leaves no volume behind', () =>
  withDaemon(async (t) => {
    const dir = await pool(t, 'a', path.join(t.home, 'a'));
    const src = await create(t, 'a', { name: 'big.img', capacity: '1G' });
    await writePattern(src.path, 0, 1024 * MiB, 0x77);
    const recorder = await recordEvents(t.client);
    try {
      const { job } = await t.client.call('cloneVolume', { params: { pool: 'a', volume: 'big.img' }, body: { name: 'half.qcow2', format: 'qcow2' } });
      // Cancelled once the copy has visibly begun (1 GiB of data: it cannot be done by then).
      const started = await recorder.first('job.progress', workDone(job.id));
      const { done, total } = started.data as { done: number; total: number };
      assert.ok(done < total, `the copy was still under way: ${done}/${total}`);
      await t.client.call('cancelJob', { params: { id: job.id } });
      const end = await t.client.waitJob(job.id);
      assert.equal(end.state, 'cancelled');
    } finally {
      await recorder.stop();
    }
    assert.deepEqual(await readdir(dir), ['big.img']);
    assert.deepEqual((await t.client.call('listVolumes', { params: { pool: 'a' } })).map((v) => v.name), ['big.img']);
  }));

test('qcow2 internal snapshots: revert restores content; list, delete; no shrink, no wipe while they exist', () =>
  withDaemon(async (t) => {
    await pool(t, 'a', path.join(t.home, 'a'));
    const v = await create(t, 'a', { name: 'vm.qcow2', capacity: '16M', format: 'qcow2' });
    await qemuWrite(v.path, 'qcow2', 0, MiB, 0xaa);
    const snap = await t.client.call('createSnapshot', { params: { pool: 'a', volume: 'vm.qcow2' }, body: { name: 'before' } });
    assert.equal(snap.kind, 'internal');
    assert.equal(snap.capacity, 16 * MiB);
    assert.ok(Math.abs(Date.parse(snap.created) - Date.now()) < 60_000);
    await assert.rejects(t.client.call('createSnapshot', { params: { pool: 'a', volume: 'vm.qcow2' }, body: { name: 'before' } }), { code: 'ALREADY_EXISTS' });
    await qemuWrite(v.path, 'qcow2', 0, MiB, 0xbb);
    assert.ok(await qemuReads(v.path, 'qcow2', 0, MiB, 0xbb));
    assert.equal((await vol(t, 'a', 'vm.qcow2')).snapshots, 1);
    await assert.rejects(t.client.call('resizeVolume', { params: { pool: 'a', volume: 'vm.qcow2' }, body: { capacity: '8M', shrink: true } }), { code: 'CANNOT_SHRINK' });
    await assert.rejects(t.client.call('wipeVolume', { params: { pool: 'a', volume: 'vm.qcow2' }, body: {} }), { code: 'IN_USE' });
    const { job } = await t.client.call('revertSnapshot', { params: { pool: 'a', volume: 'vm.qcow2', snapshot: 'before' } });
    assert.equal((await t.client.waitJob(job.id)).state, 'succeeded');
    assert.ok(await qemuReads(v.path, 'qcow2', 0, MiB, 0xaa), 'reverted content');
    assert.deepEqual((await t.client.call('listSnapshots', { params: { pool: 'a', volume: 'vm.qcow2' } })).map((s) => s.name), ['before']);
    await assert.rejects(t.client.call('revertSnapshot', { params: { pool: 'a', volume: 'vm.qcow2', snapshot: 'nope' } }), { code: 'NOT_FOUND' });
    await t.client.call('deleteSnapshot', { params: { pool: 'a', volume: 'vm.qcow2', snapshot: 'before' } });
    assert.deepEqual(await t.client.call('listSnapshots', { params: { pool: 'a', volume: 'vm.qcow2' } }), []);
    await assert.rejects(t.client.call('deleteSnapshot', { params: { pool: 'a', volume: 'vm.qcow2', snapshot: 'before' } }), { code: 'NOT_FOUND' });
    assert.equal((await vol(t, 'a', 'vm.qcow2')).snapshots, undefined);
    const raw = await create(t, 'a', { name: 'raw.img', capacity: '1M' });
    await assert.rejects(t.client.call('createSnapshot', { params: { pool: 'a', volume: 'raw.img' }, body: { name: 's' } }), { code: 'NOT_SUPPORTED' });
    assert.ok(!raw.features.includes('snapshot'));
  }));

test('raw snapshots on reflink storage: revert restores content and keeps the key; rename and delete carry them', () =>
  withDaemon(async (t) => {
    const fs = await mountReflinkFs(t.home);
    try {
      const dir = await pool(t, 'x', path.join(fs.mountpoint, 'pool'));
      const v = await sparseSource(t, 'x', 'disk.img');
      const before = await sha256File(v.path);
      const snap = await t.client.call('createSnapshot', { params: { pool: 'x', volume: 'disk.img' }, body: { name: 's1' } });
      assert.equal(snap.kind, 'reflink');
      assert.equal(snap.capacity, 64 * MiB);
      await writePattern(v.path, 0, 4 * MiB, 0x11);
      assert.notEqual(await sha256File(v.path), before);
      const { job } = await t.client.call('revertSnapshot', { params: { pool: 'x', volume: 'disk.img', snapshot: 's1' } });
      assert.equal((await t.client.waitJob(job.id)).state, 'succeeded');
      const after = await vol(t, 'x', 'disk.img');
      assert.equal(await sha256File(after.path), before);
      assert.equal(after.key, v.key);
      assert.equal(after.snapshots, 1);
      await t.client.call('renameVolume', { params: { pool: 'x', volume: 'disk.img' }, body: { name: 'disk2.img' } });
      assert.deepEqual((await t.client.call('listSnapshots', { params: { pool: 'x', volume: 'disk2.img' } })).map((s) => s.name), ['s1']);
      await t.client.call('deleteVolume', { params: { pool: 'x', volume: 'disk2.img' } });
      assert.deepEqual(await readdir(dir), []);
      await t.client.call('stopPool', { params: { pool: 'x' } });
    } finally {
      await fs.unmount();
    }
  }));

test('wipe: zero leaves zeros (and a sparse volume sparse), random verifies, qcow2 stays a valid empty image', () =>
  withDaemon(async (t) => {
    await pool(t, 'a', path.join(t.home, 'a'));
    const wipe = async (volume: string, algorithm: string, verify = true) => {
      const { job } = await rawCall(t.client, 'wipeVolume', { params: { pool: 'a', volume }, body: { algorithm, verify } });
      const end = await t.client.waitJob(job.id);
      assert.equal(end.state, 'succeeded', `${volume} ${algorithm}: ${JSON.stringify(end.error)}`);
      return end;
    };
    const sparse = await sparseSource(t, 'a', 'sparse.img');
    assert.equal((await wipe('sparse.img', 'zero')).state, 'succeeded');
    const zeros = await sha256File(sparse.path);
    const empty = await create(t, 'a', { name: 'empty.img', capacity: '64M' });
    assert.equal(zeros, await sha256File(empty.path), 'reads back as zeros');
    assert.ok((await allocated(sparse.path)) < MiB, 'a sparse volume stays sparse');

    const full = await create(t, 'a', { name: 'full.img', capacity: '16M', prealloc: 'falloc' }).then(async (o) => ('job' in o ? t.client.waitJob((o as unknown as { job: JobBody }).job.id) : o));
    assert.ok(full);
    const fv = await vol(t, 'a', 'full.img');
    await writePattern(fv.path, 0, 16 * MiB, 0xee);
    assert.equal((await wipe('full.img', 'zero')).state, 'succeeded');
    assert.ok((await allocated(fv.path)) >= 16 * MiB, 'a preallocated volume stays allocated');
    assert.ok(await qemuReads(fv.path, 'raw', 0, 16 * MiB, 0));

    const r = await wipe('full.img', 'random');
    assert.equal(r.state, 'succeeded');
    assert.equal(await qemuReads(fv.path, 'raw', 0, MiB, 0), false, 'random bytes written');
    assert.equal((await wipe('full.img', 'discard')).state, 'succeeded');
    assert.ok((await allocated(fv.path)) < MiB);

    const q = await create(t, 'a', { name: 'q.qcow2', capacity: '16M', format: 'qcow2' });
    await qemuWrite(q.path, 'qcow2', 0, 4 * MiB, 0xcd);
    assert.equal((await wipe('q.qcow2', 'random')).state, 'succeeded');
    const qv = await vol(t, 'a', 'q.qcow2');
    assert.equal(qv.format, 'qcow2');
    assert.equal(qv.capacity, 16 * MiB);
    assert.equal(qv.key, q.key);
    assert.ok(await qemuReads(q.path, 'qcow2', 0, 4 * MiB, 0));
    await assert.rejects(rawCall(t.client, 'wipeVolume', { params: { pool: 'a', volume: 'q.qcow2' }, body: { algorithm: 'shred' } }), { code: 'INVALID_ARGUMENT' });
  }));
