import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, symlink, writeFile, link, stat } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../src/host/exec.js';
import { Store } from '../../src/state/store.js';
import { rawCall, startPool, withDaemon, type TestDaemon } from '../helpers/daemon.js';

const MiB = 1024 * 1024;

const pool = (t: TestDaemon, name = 'p', target?: string) => startPool(t, name, target);
const create = (t: TestDaemon, pool: string, body: Record<string, unknown>) => rawCall(t.client, 'createVolume', { params: { pool }, body });

/** Runs `body` with a PATH whose qemu-img fails `info` (as a broken or missing tool would). */
async function withBrokenQemuInfo<T>(dir: string, body: () => Promise<T>): Promise<T> {
  const bin = path.join(dir, 'broken-bin');
  await mkdir(bin, { recursive: true });
  const real = (await run('sh', ['-c', 'command -v qemu-img'])).stdout.trim();
  await writeFile(path.join(bin, 'qemu-img'), `#!/bin/sh\n[ "$1" = info ] && { echo "qemu-img: broken for the test" >&2; exit 1; }\nexec ${real} "$@"\n`);
  await chmod(path.join(bin, 'qemu-img'), 0o755);
  const saved = process.env['PATH'];
  process.env['PATH'] = `${bin}:${saved}`;
  try {
    return await body();
  } finally {
    process.env['PATH'] = saved;
  }
}

test('listing while creating never makes kvmpool volumes foreign, and gives a file one key', () =>
  withDaemon(async (t) => {
    await pool(t);
    const creates = Array.from({ length: 20 }, (_, i) => create(t, 'p', { name: `v${i}.img`, capacity: '1M' }));
    const lists = Array.from({ length: 20 }, () => t.client.call('listVolumes', { params: { pool: 'p' } }));
    await Promise.all([...creates, ...lists]);
    const vols = await t.client.call('listVolumes', { params: { pool: 'p' } });
    assert.equal(vols.length, 20);
    assert.deepEqual(vols.filter((v) => !v.managed).map((v) => v.name), []);
    assert.equal(new Set(vols.map((v) => v.key)).size, 20);
  }));

test('renames racing with info and listings keep the volume and its key', () =>
  withDaemon(async (t) => {
    await pool(t);
    for (let i = 0; i < 10; i++) {
      const v = await create(t, 'p', { name: `a${i}.img`, capacity: '1M' });
      assert.ok('key' in v);
      const [renamed] = await Promise.all([
        t.client.call('renameVolume', { params: { pool: 'p', volume: `a${i}.img` }, body: { name: `b${i}.img` } }),
        t.client.call('getVolume', { params: { pool: 'p', volume: `a${i}.img` } }).catch(() => undefined),
        t.client.call('listVolumes', { params: { pool: 'p' } }),
      ]);
      assert.equal(renamed.key, v.key);
      assert.equal(renamed.managed, true);
    }
    const vols = await t.client.call('listVolumes', { params: { pool: 'p' } });
    assert.deepEqual(vols.map((v) => [v.name, v.managed]), Array.from({ length: 10 }, (_, i) => [`b${i}.img`, true]));
  }));

test('a listing that cannot read volumes fails and drops nothing; a recorded format survives a failed read', () =>
  withDaemon(async (t) => {
    const target = await pool(t);
    await create(t, 'p', { name: 'guest.img', capacity: '4M' });
    await create(t, 'p', { name: 'disk.qcow2', capacity: '4M', format: 'qcow2' });
    // the guest writes a qcow2 header into its raw disk, and the qcow2 volume changes
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(t.home, 'hdr.qcow2'), '1M']);
    await run('dd', [`if=${path.join(t.home, 'hdr.qcow2')}`, `of=${path.join(target, 'guest.img')}`, 'bs=64k', 'count=1', 'conv=notrunc', 'status=none']);
    await run('touch', [path.join(target, 'disk.qcow2')]);
    const saved = process.env['PATH'];
    process.env['PATH'] = '/nonexistent';
    try {
      await assert.rejects(t.client.call('listVolumes', { params: { pool: 'p' } }), { code: 'HOST_TOOL_MISSING' });
    } finally {
      process.env['PATH'] = saved;
    }
    await withBrokenQemuInfo(t.home, async () => {
      const v = await t.client.call('getVolume', { params: { pool: 'p', volume: 'disk.qcow2' } });
      assert.equal(v.format, 'qcow2');
      assert.equal(v.unreadable, true);
      assert.deepEqual(v.features, ['delete', 'rename']);
      // a raw volume is read without qemu-img: its recorded format holds whatever its bytes say
      const raw = await t.client.call('getVolume', { params: { pool: 'p', volume: 'guest.img' } });
      assert.equal(raw.format, 'raw');
      assert.equal(raw.unreadable, undefined);
    });
    const vols = await t.client.call('listVolumes', { params: { pool: 'p' } });
    assert.deepEqual(vols.map((v) => [v.name, v.format, v.managed]), [['disk.qcow2', 'qcow2', true], ['guest.img', 'raw', true]]);
  }));

test('a pool cannot stop or be undefined while a volume operation runs', () =>
  withDaemon(async (t) => {
    const target = await pool(t);
    const out = await create(t, 'p', { name: 'big.img', capacity: '8G', prealloc: 'full' });
    assert.ok('job' in out);
    try {
      await assert.rejects(t.client.call('stopPool', { params: { pool: 'p' }, body: { force: true } }), { code: 'IN_USE' });
      await assert.rejects(t.client.call('undefinePool', { params: { pool: 'p' } }), { code: 'POOL_ACTIVE' });
      // a second operation on the same name waits or is refused, never runs alongside
      await assert.rejects(t.client.call('deleteVolume', { params: { pool: 'p', volume: 'big.img' } }), { code: 'IN_USE' });
    } finally {
      await t.client.call('cancelJob', { params: { id: out.job.id } });
      assert.equal((await t.client.waitJob(out.job.id)).state, 'cancelled');
    }
    assert.deepEqual(await readdir(target), []);
    await t.client.call('stopPool', { params: { pool: 'p' } });
    await t.client.call('undefinePool', { params: { pool: 'p' } });
  }));

test('pool paths are resolved: a symlinked path overlaps the pool it leads to, and open files are found through it', () =>
  withDaemon(async (t) => {
    const real = await pool(t);
    await symlink(real, path.join(t.home, 'alias'));
    await assert.rejects(t.client.call('definePool', { body: { name: 'alias', type: 'dir', target: path.join(t.home, 'alias') } }), { code: 'IN_USE' });
    await symlink(path.join(t.home, 'pools-extra'), path.join(t.home, 'extra-link'));
    const p2 = await t.client.call('definePool', { body: { name: 'q', type: 'dir', target: path.join(t.home, 'extra-link', 'q') } });
    assert.equal(p2.target, path.join(t.home, 'pools-extra', 'q'));
    await t.client.call('buildPool', { params: { pool: 'q' } });
    await t.client.call('startPool', { params: { pool: 'q' } });
    await create(t, 'q', { name: 'held.img', capacity: '1M' });
    const { spawn } = await import('node:child_process');
    const holder = spawn(process.execPath, ['-e', `require('fs').openSync(${JSON.stringify(path.join(t.home, 'extra-link', 'q', 'held.img'))}, 'r'); console.log('open'); setTimeout(() => {}, 30000)`], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise((r) => holder.stdout.once('data', r));
      await assert.rejects(t.client.call('deleteVolume', { params: { pool: 'q', volume: 'held.img' } }), { code: 'IN_USE' });
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
    }
  }));

test('every link of a backing chain must stay in the pool', () =>
  withDaemon(async (t) => {
    const target = await pool(t);
    const outside = path.join(t.home, 'outside.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', outside, '8M']);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', outside, path.join(target, 'mid.qcow2')]);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', 'mid.qcow2', path.join(target, 'top.qcow2')]);
    // no recorded backing format: qemu would probe the backing file, so kvmpool does not follow it
    await run('qemu-img', ['create', '-q', '-f', 'raw', path.join(target, 'base.img'), '8M']);
    const header = path.join(target, 'noformat.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', 'base.img', header]);
    await dropBackingFormat(header);
    const vols = Object.fromEntries((await t.client.call('listVolumes', { params: { pool: 'p' } })).map((v) => [v.name, v]));
    for (const name of ['mid.qcow2', 'top.qcow2', 'noformat.qcow2']) {
      assert.equal(vols[name]!.backingOutsidePool, true, name);
      assert.deepEqual(vols[name]!.features, ['delete', 'rename'], name);
    }
    assert.match(vols['top.qcow2']!.warnings!.join(), /mid\.qcow2.*outside the pool/);
    await assert.rejects(t.client.call('resizeVolume', { params: { pool: 'p', volume: 'top.qcow2' }, body: { capacity: '16M', force: true } }), { code: 'NOT_SUPPORTED' });
  }));

/** Turns a qcow2's backing-format header extension (0xe2792aca) into an unknown one, as old tools wrote images. */
async function dropBackingFormat(file: string): Promise<void> {
  const { open } = await import('node:fs/promises');
  const fh = await open(file, 'r+');
  try {
    const head = Buffer.alloc(4096);
    await fh.read(head, 0, head.length, 0);
    const at = head.indexOf(Buffer.from([0xe2, 0x79, 0x2a, 0xca]));
    assert.ok(at > 0, 'backing format extension found');
    await fh.write(Buffer.from([0x0b, 0xad, 0xf0, 0x0d]), 0, 4, at);
  } finally {
    await fh.close();
  }
}

test('a create cut off after its volume appeared is recorded on the next start; a cut rename is completed', () =>
  withDaemon(async (t) => {
    const target = await pool(t);
    await create(t, 'p', { name: 'old.img', capacity: '1M' });
    const key = (await t.client.call('getVolume', { params: { pool: 'p', volume: 'old.img' } })).key;
    await t.daemon.close();
    const store = new Store(path.join(t.home, 'kvmpool.db'));
    store.journal.add('volume.create', { pool: 'p', name: 'done.img', format: 'raw' }, new Date().toISOString());
    store.journal.add('volume.rename', { pool: 'p', from: 'old.img', to: 'new.img' }, new Date().toISOString());
    store.close();
    await run('qemu-img', ['create', '-q', '-f', 'raw', path.join(target, 'done.img'), '2M']);
    await link(path.join(target, 'old.img'), path.join(target, 'new.img'));
    await t.restart();
    const vols = await t.client.call('listVolumes', { params: { pool: 'p' } });
    assert.deepEqual(vols.map((v) => [v.name, v.managed]), [['done.img', true], ['new.img', true]]);
    assert.equal(vols.find((v) => v.name === 'new.img')!.key, key);
    assert.deepEqual((await readdir(target)).sort(), ['done.img', 'new.img']);
  }));

test('a degraded pool refuses volume work and forgets nothing', () =>
  withDaemon(async (t) => {
    const target = await pool(t);
    await create(t, 'p', { name: 'keep.img', capacity: '1M' });
    await run('mv', [target, `${target}.away`]);
    for (const call of [
      () => t.client.call('getVolume', { params: { pool: 'p', volume: 'keep.img' } }),
      () => t.client.call('listVolumes', { params: { pool: 'p' } }),
      () => create(t, 'p', { name: 'x.img', capacity: '1M' }),
      () => t.client.call('refreshPool', { params: { pool: 'p' } }),
    ]) {
      await assert.rejects(call(), (e: { code: string; message: string }) => e.code === 'POOL_DEGRADED' && /missing/.test(e.message));
    }
    await t.restart();
    const p = await t.client.call('getPool', { params: { pool: 'p' } });
    assert.equal(p.state, 'degraded', 'a pool whose storage vanished while the daemon was down is degraded, not stopped');
    await run('mv', [`${target}.away`, target]);
    const v = await t.client.call('getVolume', { params: { pool: 'p', volume: 'keep.img' } });
    assert.equal(v.managed, true);
  }));

test('pool delete leaves a parent directory that another pool still uses', () =>
  withDaemon(async (t) => {
    const parent = path.join(t.home, 'shared');
    await pool(t, 'a', path.join(parent, 'a'));
    await pool(t, 'b', path.join(parent, 'b'));
    await t.client.call('stopPool', { params: { pool: 'a' } });
    await t.client.call('deletePool', { params: { pool: 'a' } });
    assert.equal((await t.client.call('getPool', { params: { pool: 'a' } })).built, false);
    assert.deepEqual(await readdir(parent), ['b']);
    assert.ok((await stat(path.join(parent, 'b'))).isDirectory());
  }));

test('sizes beyond what a format or file system holds are INVALID_ARGUMENT', () =>
  withDaemon(async (t) => {
    await pool(t);
    await assert.rejects(create(t, 'p', { name: 'huge.qcow2', capacity: '7P', format: 'qcow2' }), { code: 'INVALID_ARGUMENT' });
    await create(t, 'p', { name: 'a.img', capacity: '1M' });
    await assert.rejects(t.client.call('resizeVolume', { params: { pool: 'p', volume: 'a.img' }, body: { capacity: '7P' } }), { code: 'INVALID_ARGUMENT' });
    assert.equal((await t.client.call('getVolume', { params: { pool: 'p', volume: 'a.img' } })).capacity, MiB);
    assert.deepEqual((await t.client.call('listVolumes', { params: { pool: 'p' } })).map((v) => v.name), ['a.img']);
  }));
