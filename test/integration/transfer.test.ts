import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../src/host/exec.js';
import { dataHeader, endFrame, holeFrame } from '../../src/model/sparse-stream.js';
import { localExtents, readSparse } from '../../src/transfer/sparse-reader.js';
import { writeSparse } from '../../src/transfer/sparse-writer.js';
import { FileWriter } from '../../src/transfer/file-writer.js';
import type { VolumeBody } from '../../src/api/schemas.js';
import { rawCall, recordEvents, withDaemon, type TestDaemon } from '../helpers/daemon.js';
import { allocated, sameContent, sha256File, writePattern } from '../helpers/image.js';

const MiB = 1024 * 1024;

const create = async (t: TestDaemon, body: Record<string, unknown>) => (await rawCall(t.client, 'createVolume', { params: { pool: 'default' }, body })) as VolumeBody;
const vol = (t: TestDaemon, volume: string) => t.client.call('getVolume', { params: { pool: 'default', volume } });

/** Downloads a volume into a local file (sparse), returning the end frame's sha256. */
async function download(t: TestDaemon, volume: string, file: string, range: { offset?: number; length?: number } = {}, create = true): Promise<string | undefined> {
  const dl = await t.tcp.download('default', volume, range);
  const writer = await FileWriter.open(file, create);
  try {
    const w = await writeSparse(writer, dl.frames, { start: dl.offset, holes: 'skip', hash: true });
    await writer.sync();
    if (create) await writer.fh.truncate(w.end);
    assert.equal(w.sha256, w.sent, 'what arrived hashes as the daemon said');
    return w.sent;
  } finally {
    await writer.close();
  }
}

/** Uploads a local file (or a range of it) into a volume. */
async function upload(t: TestDaemon, volume: string, file: string, query: { offset?: number; length?: number; grow?: boolean } = {}) {
  const size = (await stat(file)).size;
  const offset = query.offset ?? 0;
  const extents = await localExtents(file);
  const frames = readSparse(file, offset, query.length ?? size - offset, { ...(extents ? { extents } : {}), hash: true });
  return t.client.upload('default', volume, frames, { ...(query.offset !== undefined ? { offset } : {}), ...(query.grow ? { grow: true } : {}) });
}

test('download and upload round trip keeps content and holes, and report the sha256', () =>
  withDaemon(async (t) => {
    const src = await create(t, { name: 'src.img', capacity: '64M' });
    await writePattern(src.path, 0, 3 * MiB, 0x42);
    await writePattern(src.path, 40 * MiB, 5 * MiB + 100, 0x24);
    const expected = await sha256File(src.path);
    const local = path.join(t.home, 'local.img');
    assert.equal(await download(t, 'src.img', local), expected);
    assert.equal(await sha256File(local), expected);
    assert.ok((await allocated(local)) < 10 * MiB, 'the local copy keeps the holes');

    await create(t, { name: 'dst.img', capacity: '64M' });
    const up = await upload(t, 'dst.img', local);
    assert.equal(up.sha256, expected);
    assert.ok(up.dataBytes >= 8 * MiB + 100 && up.dataBytes <= 8 * MiB + 64 * 1024, `data sent in 64 KiB blocks: ${up.dataBytes}`);
    const dst = await vol(t, 'dst.img');
    assert.equal(await sha256File(dst.path), expected);
    assert.ok(dst.allocation < 10 * MiB, 'holes were not sent or written');
    assert.equal(dst.capacity, 64 * MiB);
    assert.equal(dst.managed, true);
  }));

test('ranges: a partial download and a resumed upload in two halves', () =>
  withDaemon(async (t) => {
    const src = await create(t, { name: 'src.img', capacity: '16M' });
    await writePattern(src.path, 0, 16 * MiB, 0x11);
    await writePattern(src.path, 8 * MiB, 4 * MiB, 0x99);
    const local = path.join(t.home, 'local.img');
    await download(t, 'src.img', local, { length: 8 * MiB });
    await download(t, 'src.img', local, { offset: 8 * MiB }, false);
    assert.equal(await sha256File(local), await sha256File(src.path));

    const dst = await create(t, { name: 'dst.img', capacity: '16M' });
    await upload(t, 'dst.img', local, { offset: 0, length: 8 * MiB });
    assert.notEqual(await sha256File(dst.path), await sha256File(src.path));
    await upload(t, 'dst.img', local, { offset: 8 * MiB });
    assert.equal(await sha256File(dst.path), await sha256File(src.path));
    await assert.rejects(t.client.download('default', 'src.img', { offset: 10 * MiB, length: 8 * MiB }), { code: 'INVALID_ARGUMENT' });
  }));

test('qcow2 uploads are checked: valid ones replace the volume, a backing file outside the pool is refused', () =>
  withDaemon(async (t) => {
    const img = path.join(t.home, 'image.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', img, '32M']);
    await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 7 1M 2M', img]);
    const target = await create(t, { name: 'vm.qcow2', capacity: '32M', format: 'qcow2' });
    const up = await upload(t, 'vm.qcow2', img);
    assert.equal(up.volume.format, 'qcow2');
    assert.ok(await sameContent(img, 'qcow2', target.path, 'qcow2'));

    const evil = [
      ['-F', 'raw', '-b', '/etc/shadow'],
      ['-F', 'raw', '-b', 'json:{"driver":"raw","file":{"driver":"file","filename":"/etc/shadow"}}'],
      ['-F', 'raw', '-b', '../../../../etc/shadow'],
    ];
    const before = await sha256File(target.path);
    for (const [i, args] of evil.entries()) {
      const bad = path.join(t.home, `evil${i}.qcow2`);
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', ...args, bad, '32M']);
      await assert.rejects(upload(t, 'vm.qcow2', bad), (e: { code: string; message: string }) => e.code === 'INVALID_ARGUMENT' && /backing file/.test(e.message), args.join(' '));
    }
    assert.equal(await sha256File(target.path), before, 'the volume is unchanged');
    assert.deepEqual((await readdir(path.dirname(target.path))).sort(), ['vm.qcow2'], 'no staged file is left');

    // a qcow2 into a raw volume, raw bytes into a qcow2 volume: refused before anything is written
    const raw = await create(t, { name: 'raw.img', capacity: '32M' });
    await assert.rejects(upload(t, 'raw.img', img), (e: { code: string; message: string }) => e.code === 'INVALID_ARGUMENT' && /is a qcow2 image but default\/raw.img is raw/.test(e.message));
    await assert.rejects(upload(t, 'raw.img', img, { offset: 0 }), { code: 'INVALID_ARGUMENT' });
    assert.ok((await allocated(raw.path)) < MiB);
    const rawFile = path.join(t.home, 'plain.img');
    await run('truncate', ['-s', '1M', rawFile]);
    await writePattern(rawFile, 0, MiB, 0x31);
    await assert.rejects(upload(t, 'vm.qcow2', rawFile), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(upload(t, 'vm.qcow2', rawFile, { offset: 0 }), { code: 'NOT_SUPPORTED' });
  }));

test('uploads larger than the volume need --grow', () =>
  withDaemon(async (t) => {
    await create(t, { name: 'small.img', capacity: '4M' });
    const big = path.join(t.home, 'big.img');
    await run('truncate', ['-s', '8M', big]);
    await writePattern(big, 6 * MiB, MiB, 0x55);
    await assert.rejects(upload(t, 'small.img', big), (e: { code: string; message: string }) => e.code === 'INVALID_ARGUMENT' && /--grow/.test(e.message));
    assert.equal((await vol(t, 'small.img')).capacity, 4 * MiB);
    const grown = await upload(t, 'small.img', big, { grow: true });
    assert.equal(grown.volume.capacity, 8 * MiB);
    assert.equal(await sha256File((await vol(t, 'small.img')).path), await sha256File(big));
  }));

test('a stream whose checksum does not match changes nothing', () =>
  withDaemon(async (t) => {
    const v = await create(t, { name: 'v.img', capacity: '4M' });
    await writePattern(v.path, 0, MiB, 0x10);
    const before = await sha256File(v.path);
    const data = Buffer.alloc(MiB, 0x20);
    const wrong = createHash('sha256').update('something else').digest('hex');
    async function* frames() {
      yield dataHeader(0, data.length);
      yield data;
      yield holeFrame(MiB, 3 * MiB);
      yield endFrame(4 * MiB, wrong);
    }
    await assert.rejects(t.client.upload('default', 'v.img', frames()), { code: 'CHECKSUM_MISMATCH' });
    assert.equal(await sha256File(v.path), before);
    assert.deepEqual(await readdir(path.dirname(v.path)), ['v.img']);
  }));

test('plain HTTP streams work too: octet-stream upload, download with the sha256 trailer', () =>
  withDaemon(async (t) => {
    const v = await create(t, { name: 'v.img', capacity: '2M' });
    const body = Buffer.concat([Buffer.alloc(MiB, 0x61), Buffer.alloc(MiB)]);
    const put = await request(t, 'PUT', '/api/v1/pools/default/volumes/v.img/content', { 'content-type': 'application/octet-stream', 'content-length': String(body.length) }, body);
    assert.equal(put.status, 200, put.text.toString());
    const sha = createHash('sha256').update(body).digest('hex');
    assert.equal(JSON.parse(put.text.toString()).sha256, sha);
    assert.equal(await sha256File(v.path), sha);
    assert.ok((await allocated(v.path)) <= MiB + 64 * 1024, 'zero runs of a plain upload become holes');
    const get = await request(t, 'GET', '/api/v1/pools/default/volumes/v.img/content', {});
    assert.equal(get.status, 200);
    assert.ok(get.text.equals(body));
    assert.equal(get.trailers['x-kvmpool-sha256'], sha);
  }));

test('a cancelled upload leaves the volume as it was', () =>
  withDaemon(async (t) => {
    const v = await create(t, { name: 'v.img', capacity: '64M' });
    await writePattern(v.path, 0, MiB, 0x77);
    const before = await sha256File(v.path);
    const recorder = await recordEvents(t.client);
    async function* slow() {
      for (let i = 0; i < 64; i++) {
        yield dataHeader(i * MiB, MiB);
        yield Buffer.alloc(MiB, 0x33);
        await new Promise((r) => setTimeout(r, 50));
      }
      yield endFrame(64 * MiB);
    }
    const up = t.client.upload('default', 'v.img', slow());
    const job = (await recorder.first('job.started')).subject;
    await t.client.call('cancelJob', { params: { id: job } });
    await assert.rejects(up, { code: 'CANCELLED' });
    await recorder.stop();
    assert.equal(await sha256File(v.path), before);
    assert.deepEqual(await readdir(path.dirname(v.path)), ['v.img']);
    assert.equal((await t.client.call('getJob', { params: { id: job } })).state, 'cancelled');
  }));

function request(t: TestDaemon, method: string, urlPath: string, headers: Record<string, string>, body?: Buffer): Promise<{ status: number; text: Buffer; trailers: NodeJS.Dict<string> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: path.join(t.home, 'kvmpool.sock'), method, path: urlPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks), trailers: res.trailers }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

test('a qcow2 with an external data file is refused as an upload and never followed in the pool', () =>
  withDaemon(async (t) => {
    const victim = path.join(t.home, 'victim');
    await run('truncate', ['-s', '1M', victim]);
    const evil = path.join(t.home, 'evil.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${victim},data_file_raw=on`, evil, '1M']);
    await create(t, { name: 'vm.qcow2', capacity: '4M', format: 'qcow2' });
    await assert.rejects(upload(t, 'vm.qcow2', evil, { grow: true }), (e: { code: string; message: string }) => e.code === 'INVALID_ARGUMENT' && /external file/.test(e.message));
    await run('cp', [evil, path.join(t.home, 'pools', 'default', 'placed.qcow2')]);
    const placed = await vol(t, 'placed.qcow2');
    assert.equal(placed.backingOutsidePool, true);
    assert.deepEqual(placed.features, ['delete', 'rename']);
    assert.equal((await stat(victim)).size, MiB, 'the outside file is untouched');
  }));

test('a format header split across frames is still seen', () =>
  withDaemon(async (t) => {
    const v = await create(t, { name: 'raw.img', capacity: '1M' });
    const img = path.join(t.home, 'x.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', img, '1M']);
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(img);
    async function* frames() {
      yield dataHeader(0, 1);
      yield bytes.subarray(0, 1);
      yield dataHeader(1, bytes.length - 1);
      yield bytes.subarray(1);
      yield endFrame(bytes.length);
    }
    await assert.rejects(t.client.upload('default', 'raw.img', frames()), { code: 'INVALID_ARGUMENT' });
    assert.ok((await allocated(v.path)) < 64 * 1024);
  }));

test('cancelling an upload whose sender went quiet ends it and frees the volume', () =>
  withDaemon(async (t) => {
    await create(t, { name: 'v.img', capacity: '4M' });
    const recorder = await recordEvents(t.client);
    async function* quiet() {
      yield dataHeader(0, MiB);
      yield Buffer.alloc(MiB, 1);
      await new Promise(() => {}); // never sends the rest
    }
    const up = t.client.upload('default', 'v.img', quiet());
    up.catch(() => undefined);
    await t.client.call('cancelJob', { params: { id: (await recorder.first('job.started')).subject } });
    await assert.rejects(up);
    await recorder.stop();
    await t.client.call('deleteVolume', { params: { pool: 'default', volume: 'v.img' } });
  }));
