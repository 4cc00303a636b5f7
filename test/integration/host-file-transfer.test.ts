import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdir, readdir, stat, statfs, symlink, writeFile } from 'node:fs/promises';
import { run } from '../../src/host/exec.js';
import type { JobInfo } from '../../src/model/job-types.js';
import type { VolumeBody } from '../../src/api/schemas.js';
import { rawCall, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { allocated, sha256File, writePattern } from '../helpers/image.js';
import { mountReflinkFs } from '../helpers/xfs.js';

const MiB = 1024 * 1024;

// One daemon for the file: each test uses volumes of its own.
let t: TestDaemon;
before(async () => {
  t = await startTestDaemon();
});
after(async () => {
  await t?.close();
});

const create = async (name: string, capacity: string, format = 'raw') => (await rawCall(t.client, 'createVolume', { params: { pool: 'default' }, body: { name, capacity, format } })) as VolumeBody;

/** Runs a host-file job through the socket client and waits for its end. */
async function job(id: 'uploadVolumeFile' | 'downloadVolumeFile', volume: string, body: Record<string, unknown>): Promise<JobInfo> {
  const { job } = (await rawCall(t.client, id, { params: { pool: 'default', volume }, body })) as { job: JobInfo };
  return t.client.waitJob(job.id);
}

/** A job that must succeed; its result. */
async function done<T>(id: 'uploadVolumeFile' | 'downloadVolumeFile', volume: string, body: Record<string, unknown>): Promise<T> {
  const end = await job(id, volume, body);
  assert.equal(end.state, 'succeeded', JSON.stringify(end.error));
  assert.ok(end.progress.total > 0 && end.progress.done === end.progress.total, `progress ${JSON.stringify(end.progress)}`);
  return end.result as T;
}

test('a file of the host goes in and out through the daemon itself: content, holes, sha256, ranges', async () => {
  const src = await create('hf-src.img', '64M');
  await writePattern(src.path, 0, 3 * MiB, 0x42);
  await writePattern(src.path, 40 * MiB, 5 * MiB + 100, 0x24);
  const sum = await sha256File(src.path);

  const sparse = path.join(t.home, 'hf-sparse.img');
  const dl = await done<{ sha256: string; verified: boolean; dataBytes: number; format: string }>('downloadVolumeFile', 'hf-src.img', { file: sparse, sparse: true, verify: true });
  assert.deepEqual([dl.sha256, dl.verified, dl.format], [sum, true, 'raw']);
  assert.equal(await sha256File(sparse), sum);
  assert.ok((await allocated(sparse)) < 10 * MiB, 'the holes stay holes');
  const dense = path.join(t.home, 'hf-dense.img');
  await done('downloadVolumeFile', 'hf-src.img', { file: dense });
  assert.ok((await allocated(dense)) >= 64 * MiB, 'without sparse the file is allocated whole');
  assert.equal(await sha256File(dense), sum);

  await create('hf-dst.img', '64M');
  const up = await done<{ sha256: string; dataBytes: number; volume: VolumeBody }>('uploadVolumeFile', 'hf-dst.img', { file: sparse, verify: true });
  assert.equal(up.sha256, sum);
  assert.ok(up.dataBytes < 9 * MiB, `only data is copied: ${up.dataBytes}`);
  assert.equal(await sha256File(up.volume.path), sum);
  assert.ok(up.volume.allocation < 10 * MiB);

  // A download in two ranges completes one file; an upload in two ranges, in place, one volume.
  const halves = path.join(t.home, 'hf-halves.img');
  await done('downloadVolumeFile', 'hf-src.img', { file: halves, length: 32 * MiB, sparse: true });
  await done('downloadVolumeFile', 'hf-src.img', { file: halves, offset: 32 * MiB });
  assert.equal(await sha256File(halves), sum);
  const ranged = await create('hf-ranged.img', '64M');
  await done('uploadVolumeFile', 'hf-ranged.img', { file: dense, offset: 0, length: 32 * MiB });
  await done('uploadVolumeFile', 'hf-ranged.img', { file: dense, offset: 32 * MiB });
  assert.equal(await sha256File(ranged.path), sum);
});

test('every check of a streamed upload holds, and a refused one changes nothing', async () => {
  const vol = await create('hf-checked.img', '8M');
  await writePattern(vol.path, 0, MiB, 0x11);
  const before = await sha256File(vol.path);
  const pool = path.dirname(vol.path);
  const entries = async () => (await readdir(pool)).sort();
  const listed = await entries();

  const qcow2 = path.join(t.home, 'hf.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', qcow2, '8M']);
  const wrongFormat = await job('uploadVolumeFile', 'hf-checked.img', { file: qcow2 });
  assert.equal(wrongFormat.error?.code, 'INVALID_ARGUMENT');
  assert.match(wrongFormat.error?.message ?? '', /is a qcow2 image but default\/hf-checked.img is raw/);

  const big = path.join(t.home, 'hf-big.img');
  await writeFile(big, '');
  await writePattern(big, 0, 9 * MiB, 0x33);
  const tooBig = await job('uploadVolumeFile', 'hf-checked.img', { file: big });
  assert.equal(tooBig.error?.code, 'INVALID_ARGUMENT');
  assert.match(tooBig.error?.message ?? '', /--grow/);

  assert.equal(await sha256File(vol.path), before, 'the volume is as it was');
  assert.deepEqual(await entries(), listed, 'no staged file is left in the pool');

  // Refused before a job starts: what is not a regular file, what is missing, a range past the end.
  const dir = path.join(t.home, 'hf-dir');
  await mkdir(dir);
  await assert.rejects(rawCall(t.client, 'uploadVolumeFile', { params: { pool: 'default', volume: 'hf-checked.img' }, body: { file: dir } }), { code: 'INVALID_ARGUMENT', message: /is not a regular file/ });
  const fifo = path.join(t.home, 'hf-fifo');
  await run('mkfifo', [fifo]);
  await assert.rejects(rawCall(t.client, 'uploadVolumeFile', { params: { pool: 'default', volume: 'hf-checked.img' }, body: { file: fifo } }), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(rawCall(t.client, 'downloadVolumeFile', { params: { pool: 'default', volume: 'hf-checked.img' }, body: { file: fifo } }), { code: 'INVALID_ARGUMENT', message: /is not a regular file/ });
  assert.ok((await stat(fifo)).isFIFO(), 'the FIFO is left as it was');
  await assert.rejects(rawCall(t.client, 'uploadVolumeFile', { params: { pool: 'default', volume: 'hf-checked.img' }, body: { file: path.join(t.home, 'nothing.img') } }), { code: 'NOT_FOUND' });
  await assert.rejects(rawCall(t.client, 'uploadVolumeFile', { params: { pool: 'default', volume: 'hf-checked.img' }, body: { file: big, offset: 8 * MiB, length: 2 * MiB } }), { code: 'INVALID_ARGUMENT', message: /past the end/ });
  await assert.rejects(rawCall(t.client, 'uploadVolumeFile', { params: { pool: 'default', volume: 'hf-checked.img' }, body: { file: 'relative.img' } }), { code: 'INVALID_ARGUMENT' });
  // A download never writes through a symlink: the link is replaced by a new file, and a range, which
  // writes into an existing file, is refused there.
  const victim = path.join(t.home, 'hf-victim');
  await writeFile(victim, 'keep');
  const link = path.join(t.home, 'hf-link');
  await symlink(victim, link);
  await assert.rejects(rawCall(t.client, 'downloadVolumeFile', { params: { pool: 'default', volume: 'hf-checked.img' }, body: { file: link, offset: 0, length: MiB } }), { code: 'INVALID_ARGUMENT', message: /is not a regular file/ });
  await done('downloadVolumeFile', 'hf-checked.img', { file: link });
  assert.equal(await sha256File(link), before);
  assert.equal((await stat(victim)).size, 4, 'the symlink target is untouched');
  assert.equal(await sha256File(vol.path), before);

  // A download never writes into a pool's directory: not over a volume, not as a new file there.
  await assert.rejects(rawCall(t.client, 'downloadVolumeFile', { params: { pool: 'default', volume: 'hf-src.img' }, body: { file: vol.path } }), { code: 'INVALID_ARGUMENT', message: /inside the directory of pool 'default'/ });
  await assert.rejects(rawCall(t.client, 'downloadVolumeFile', { params: { pool: 'default', volume: 'hf-checked.img' }, body: { file: path.join(pool, 'hf-new.img') } }), { code: 'INVALID_ARGUMENT' });
  assert.equal(await sha256File(vol.path), before);
  assert.deepEqual(await entries(), listed);
});

test('a caller that sees another file system than the daemon is told so (FORBIDDEN), and a busy volume answers at once', async () => {
  await create('hf-seen.img', '8M');
  const file = path.join(t.home, 'hf-seen-src.img');
  await writeFile(file, '');
  await writePattern(file, 0, MiB, 0x66);
  const real = await stat(file);
  const elsewhere = { dev: String(real.dev), ino: String(real.ino + 1) };
  await assert.rejects(rawCall(t.client, 'uploadVolumeFile', { params: { pool: 'default', volume: 'hf-seen.img' }, body: { file, seen: elsewhere } }), { code: 'FORBIDDEN' });
  await assert.rejects(rawCall(t.client, 'downloadVolumeFile', { params: { pool: 'default', volume: 'hf-seen.img' }, body: { file: path.join(t.home, 'hf-seen-out.img'), seen: elsewhere } }), { code: 'FORBIDDEN' });
  const up = await done<{ sha256: string }>('uploadVolumeFile', 'hf-seen.img', { file, seen: { dev: String(real.dev), ino: String(real.ino) } });
  assert.equal(up.sha256, await sha256File(file));

  // While a download holds the volume, a second one answers IN_USE instead of waiting without a job.
  const big = await create('hf-busy.img', '256M');
  await writePattern(big.path, 0, 256 * MiB, 0x77);
  const first = (await rawCall(t.client, 'downloadVolumeFile', { params: { pool: 'default', volume: 'hf-busy.img' }, body: { file: path.join(t.home, 'hf-busy-1.img') } })) as { job: JobInfo };
  await assert.rejects(rawCall(t.client, 'downloadVolumeFile', { params: { pool: 'default', volume: 'hf-busy.img' }, body: { file: path.join(t.home, 'hf-busy-2.img') } }), { code: 'IN_USE' });
  assert.equal((await t.client.waitJob(first.job.id)).state, 'succeeded');
});

test('only a caller on the unix socket may name a file of the host', async () => {
  await create('hf-tcp.img', '8M');
  const file = path.join(t.home, 'hf-tcp-out.img');
  await assert.rejects(t.tcp.call('downloadVolumeFile', { params: { pool: 'default', volume: 'hf-tcp.img' }, body: { file } }), { code: 'FORBIDDEN' });
  await assert.rejects(stat(file), { code: 'ENOENT' }, 'nothing was written');
  await writeFile(file, '');
  await writePattern(file, 0, MiB, 0x55);
  await assert.rejects(t.tcp.call('uploadVolumeFile', { params: { pool: 'default', volume: 'hf-tcp.img' }, body: { file } }), { code: 'FORBIDDEN' });
  const vol = (await rawCall(t.client, 'getVolume', { params: { pool: 'default', volume: 'hf-tcp.img' } })) as VolumeBody;
  assert.equal(vol.allocation, 0, 'the volume was not written');
});

test('on a file system that shares blocks, a host file goes in and out without a copy, checked as a copy is', async () => {
  const fs = await mountReflinkFs(t.home, 1024 ** 3);
  const used = async () => {
    const s = await statfs(fs.mountpoint);
    return (s.blocks - s.bfree) * s.bsize;
  };
  try {
    const target = path.join(fs.mountpoint, 'pool');
    await rawCall(t.client, 'definePool', { body: { name: 'xfs', type: 'dir', target } });
    await rawCall(t.client, 'buildPool', { params: { pool: 'xfs' } });
    await rawCall(t.client, 'startPool', { params: { pool: 'xfs' } });
    const xfsJob = async (id: 'uploadVolumeFile' | 'downloadVolumeFile', volume: string, body: Record<string, unknown>) => {
      const { job } = (await rawCall(t.client, id, { params: { pool: 'xfs', volume }, body })) as { job: JobInfo };
      return t.client.waitJob(job.id);
    };
    await rawCall(t.client, 'createVolume', { params: { pool: 'xfs' }, body: { name: 'vm.img', capacity: '64M' } });
    const file = path.join(fs.mountpoint, 'image.img');
    await writeFile(file, '');
    await writePattern(file, 0, 8 * MiB, 0x5a);
    await writePattern(file, 56 * MiB, 8 * MiB, 0xa5);
    const sum = await sha256File(file);

    const before = await used();
    const up = await xfsJob('uploadVolumeFile', 'vm.img', { file });
    assert.equal(up.state, 'succeeded', JSON.stringify(up.error));
    const result = up.result as { sha256?: string; dataBytes: number; shared: boolean; volume: VolumeBody };
    assert.deepEqual([result.shared, result.sha256, result.dataBytes], [true, undefined, 16 * MiB], 'shared blocks are not read: no sha256 unless verified');
    assert.deepEqual(up.progress, { done: 64 * MiB, total: 64 * MiB }, 'the job ends at its whole length');
    assert.equal(await sha256File(result.volume.path), sum);
    assert.equal(result.volume.capacity, 64 * MiB, 'grown to the capacity, as a copied upload is');
    assert.ok((await used()) - before < 2 * MiB, `no data was copied: ${(await used()) - before} bytes more in use`);
    await rawCall(t.client, 'createVolume', { params: { pool: 'xfs' }, body: { name: 'vm2.img', capacity: '64M' } });
    const verified = await xfsJob('uploadVolumeFile', 'vm2.img', { file, verify: true });
    assert.deepEqual([(verified.result as { shared: boolean }).shared, (verified.result as { sha256?: string }).sha256], [true, sum]);

    // Shared or copied, the checks are the same: a qcow2 into a raw volume, a file past the capacity.
    const qcow2 = path.join(fs.mountpoint, 'image.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', qcow2, '8M']);
    assert.equal((await xfsJob('uploadVolumeFile', 'vm.img', { file: qcow2 })).error?.code, 'INVALID_ARGUMENT');
    const big = path.join(fs.mountpoint, 'big.img');
    await writeFile(big, '');
    await writePattern(big, 64 * MiB, MiB, 0x11);
    const tooBig = await xfsJob('uploadVolumeFile', 'vm.img', { file: big });
    assert.equal(tooBig.error?.code, 'INVALID_ARGUMENT');
    assert.match(tooBig.error?.message ?? '', /--grow/);
    assert.equal(await sha256File(result.volume.path), sum, 'the volume is as it was');
    assert.deepEqual((await readdir(target)).sort(), ['vm.img', 'vm2.img'], 'no staged file is left');

    // Out again, into the same file system: shared too, holes kept or allocated as asked.
    const beforeDown = await used();
    const sparse = path.join(fs.mountpoint, 'out-sparse.img');
    const down = await xfsJob('downloadVolumeFile', 'vm.img', { file: sparse, sparse: true, verify: true });
    assert.equal(down.state, 'succeeded', JSON.stringify(down.error));
    const shared = down.result as { sha256?: string; verified: boolean; shared: boolean };
    assert.deepEqual([shared.sha256, shared.verified, shared.shared], [await sha256File(result.volume.path), true, true]);
    assert.equal(await sha256File(sparse), await sha256File(result.volume.path));
    assert.ok((await used()) - beforeDown < 2 * MiB, 'no data was copied');
    const dense = path.join(fs.mountpoint, 'out-dense.img');
    assert.equal((await xfsJob('downloadVolumeFile', 'vm.img', { file: dense })).state, 'succeeded');
    assert.ok((await allocated(dense)) >= 64 * MiB, 'without sparse the holes are allocated');
    assert.equal(await sha256File(dense), await sha256File(result.volume.path));
    await rawCall(t.client, 'stopPool', { params: { pool: 'xfs' } });
  } finally {
    await fs.unmount();
  }
});

