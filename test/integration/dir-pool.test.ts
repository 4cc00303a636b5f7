import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, stat, symlink, writeFile, copyFile, open } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../src/host/exec.js';
import type { VolumeBody } from '../../src/api/schemas.js';
import { rawCall, recordEvents, startPool, withDaemon, workDone, type TestDaemon } from '../helpers/daemon.js';

const MiB = 1024 * 1024;

const pool = (t: TestDaemon, name = 'p') => startPool(t, name);
const create = (t: TestDaemon, pool: string, body: Record<string, unknown>) => rawCall(t.client, 'createVolume', { params: { pool }, body });
const volumes = async (t: TestDaemon, pool: string) => (await t.client.call('listVolumes', { params: { pool } })).map((v) => v.name).sort();

test('first start makes the default pool, built, running and autostarted', () =>
  withDaemon(async (t) => {
    const p = await t.client.call('getPool', { params: { pool: 'default' } });
    assert.equal(p.state, 'running');
    assert.equal(p.autostart, true);
    assert.equal(p.target, path.join(t.home, 'pools', 'default'));
    assert.equal((await stat(p.target)).mode & 0o777, 0o711);
    assert.equal((await stat(path.join(t.home, 'kvmpool.sock'))).mode & 0o777, 0o600);
    assert.equal((await stat(path.join(t.home, 'token'))).mode & 0o777, 0o600);
  }));

test('pools and volumes survive a daemon restart with the same sizes and keys', () =>
  withDaemon(async (t) => {
    await pool(t);
    await create(t, 'p', { name: 'sparse.img', capacity: '64M' });
    await create(t, 'p', { name: 'disk.qcow2', capacity: '1G', format: 'qcow2' });
    const before = await t.client.call('listVolumes', { params: { pool: 'p' } });
    await t.restart();
    const after = await t.client.call('listVolumes', { params: { pool: 'p' } });
    assert.deepEqual(after.map((v) => [v.name, v.key, v.capacity, v.allocation, v.format, v.managed]), before.map((v) => [v.name, v.key, v.capacity, v.allocation, v.format, v.managed]));
    assert.equal((await t.client.call('getPool', { params: { pool: 'p' } })).state, 'running', 'a running pool stays running across a daemon restart');
  }));

test('refresh finds files added and removed outside kvmpool; unknown files are listed and never deleted', () =>
  withDaemon(async (t) => {
    const target = await pool(t);
    await create(t, 'p', { name: 'ours.img', capacity: '1M' });
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(target, 'theirs.qcow2'), '32M']);
    await writeFile(path.join(target, 'notes.txt'), 'hello');
    await writeFile(path.join(target, 'broken.qcow2'), Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]), Buffer.alloc(100)]));
    await writeFile(path.join(target, '.hidden'), 'x');
    await mkdir(path.join(target, 'subdir'));
    await symlink('/etc/passwd', path.join(target, 'link.img'));
    await t.client.call('refreshPool', { params: { pool: 'p' } });
    const list = await t.client.call('listVolumes', { params: { pool: 'p' } });
    const by = Object.fromEntries(list.map((v) => [v.name, v]));
    assert.deepEqual(Object.keys(by).sort(), ['broken.qcow2', 'link.img', 'notes.txt', 'ours.img', 'theirs.qcow2']);
    assert.equal(by['theirs.qcow2']!.format, 'qcow2');
    assert.equal(by['theirs.qcow2']!.capacity, 32 * MiB);
    assert.equal(by['theirs.qcow2']!.managed, false);
    assert.equal(by['ours.img']!.managed, true);
    assert.equal(by['notes.txt']!.format, 'raw');
    assert.equal(by['broken.qcow2']!.format, 'unknown');
    assert.equal(by['link.img']!.format, 'unknown');
    assert.deepEqual(by['broken.qcow2']!.features, []);
    await assert.rejects(t.client.call('deleteVolume', { params: { pool: 'p', volume: 'broken.qcow2' }, query: { force: true } }), { code: 'NOT_SUPPORTED' });
    await assert.rejects(t.client.call('deleteVolume', { params: { pool: 'p', volume: 'link.img' }, query: { force: true } }), { code: 'NOT_SUPPORTED' });
    await assert.rejects(t.client.call('deleteVolume', { params: { pool: 'p', volume: 'theirs.qcow2' } }), { code: 'FOREIGN_VOLUME' });
    assert.ok((await readdir(target)).includes('broken.qcow2'));
    await t.client.call('deleteVolume', { params: { pool: 'p', volume: 'theirs.qcow2' }, query: { force: true } });

    // removed outside: gone after refresh; renamed outside: same key
    const key = by['notes.txt']!.key;
    await run('mv', [path.join(target, 'notes.txt'), path.join(target, 'notes2.txt')]);
    await run('rm', [path.join(target, 'ours.img')]);
    assert.deepEqual(await volumes(t, 'p'), ['broken.qcow2', 'link.img', 'notes2.txt']);
    assert.equal((await t.client.call('getVolume', { params: { pool: 'p', volume: 'notes2.txt' } })).key, key);

    // changed outside: a listing re-reads what changed (cached facts are only reused for unchanged files)
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(target, 'grows.qcow2'), '8M']);
    assert.equal((await t.client.call('listVolumes', { params: { pool: 'p' } })).find((v) => v.name === 'grows.qcow2')!.capacity, 8 * MiB);
    await run('qemu-img', ['resize', '-q', '-f', 'qcow2', path.join(target, 'grows.qcow2'), '24M']);
    assert.equal((await t.client.call('listVolumes', { params: { pool: 'p' } })).find((v) => v.name === 'grows.qcow2')!.capacity, 24 * MiB);
  }));

test('a qcow2 whose backing file lies outside the pool is listed, flagged and never followed', () =>
  withDaemon(async (t) => {
    const target = await pool(t);
    const outside = path.join(t.home, 'outside.img');
    await run('qemu-img', ['create', '-q', '-f', 'raw', outside, '16M']);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', outside, path.join(target, 'evil.qcow2')]);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '../../outside.img', path.join(target, 'relative.qcow2')]);
    await run('qemu-img', ['create', '-q', '-f', 'raw', path.join(target, 'base.img'), '16M']);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', 'base.img', path.join(target, 'good.qcow2')]);
    const list = await t.client.call('listVolumes', { params: { pool: 'p' } });
    const by = Object.fromEntries(list.map((v) => [v.name, v]));
    for (const name of ['evil.qcow2', 'relative.qcow2']) {
      assert.equal(by[name]!.backingOutsidePool, true, name);
      assert.match(by[name]!.warnings!.join(), /outside the pool/);
      assert.deepEqual(by[name]!.features, ['delete', 'rename']);
      await assert.rejects(t.client.call('resizeVolume', { params: { pool: 'p', volume: name }, body: { capacity: '32M', force: true } }), { code: 'NOT_SUPPORTED' });
    }
    assert.equal(by['good.qcow2']!.backingOutsidePool, undefined);
    assert.equal(by['good.qcow2']!.backingFile, 'base.img');
    // a volume that backs another is in use
    await assert.rejects(t.client.call('deleteVolume', { params: { pool: 'p', volume: 'base.img' }, query: { force: true } }), { code: 'IN_USE' });
  }));

test('a raw volume whose guest wrote a qcow2 header stays raw', () =>
  withDaemon(async (t) => {
    const target = await pool(t);
    await create(t, 'p', { name: 'guest.img', capacity: '4M' });
    // What a guest could write to its own disk: a qcow2 header pointing at a host file.
    const fake = path.join(t.home, 'fake.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/shadow', fake, '4M']);
    const header = Buffer.alloc(64 * 1024);
    const src = await open(fake, 'r');
    await src.read(header, 0, header.length, 0);
    await src.close();
    const dst = await open(path.join(target, 'guest.img'), 'r+');
    await dst.write(header, 0, header.length, 0);
    await dst.close();
    await t.restart();
    const v = await t.client.call('getVolume', { params: { pool: 'p', volume: 'guest.img' } });
    assert.equal(v.format, 'raw');
    assert.equal(v.capacity, 4 * MiB);
    assert.equal(v.backingFile, undefined);
  }));

test('preallocated creates are jobs with progress events; cancel leaves nothing behind', () =>
  withDaemon(async (t) => {
    const target = await pool(t);
    const out = await create(t, 'p', { name: 'full.img', capacity: '64M', prealloc: 'full' });
    assert.ok('job' in out);
    const progress: number[] = [];
    const end = await t.client.waitJob(out.job.id, (done) => progress.push(done));
    assert.equal(end.state, 'succeeded');
    const v = await t.client.call('getVolume', { params: { pool: 'p', volume: 'full.img' } });
    assert.ok(v.allocation >= 64 * MiB);
    let bigJob: string | undefined;

    const recorder = await recordEvents(t.client);
    try {
      const big = await create(t, 'p', { name: 'big.img', capacity: '8G', prealloc: 'full' });
      assert.ok('job' in big);
      // Once it has visibly begun (8 GiB to write: it cannot be done by then), it holds the volume.
      const started = await recorder.first('job.progress', workDone(big.job.id));
      const { done, total } = started.data as { done: number; total: number };
      assert.ok(done < total, `the create was still under way: ${done}/${total}`);
      await assert.rejects(t.client.call('deleteVolume', { params: { pool: 'p', volume: 'big.img' } }), { code: 'IN_USE' });
      await t.client.call('cancelJob', { params: { id: big.job.id } });
      const cancelled = await t.client.waitJob(big.job.id);
      assert.equal(cancelled.state, 'cancelled');
      bigJob = big.job.id;
    } finally {
      await recorder.stop();
    }
    assert.deepEqual((await readdir(target)).sort(), ['full.img']);
    assert.deepEqual(await volumes(t, 'p'), ['full.img']);
    await assert.rejects(t.client.call('cancelJob', { params: { id: String(bigJob) } }), { code: 'JOB_FINISHED' });
    const jobs = await t.client.call('listJobs');
    assert.deepEqual(jobs.map((j) => j.state).sort(), ['cancelled', 'succeeded']);
  }));

test('a full pool: preallocation beyond the free space is NO_SPACE and leaves nothing', () =>
  withDaemon(async (t) => {
    const target = path.join(t.home, 'small');
    await mkdir(target);
    await run('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'kvmpool-test', target]);
    try {
      await t.client.call('definePool', { body: { name: 'small', type: 'dir', target } });
      await t.client.call('startPool', { params: { pool: 'small' } });
      await assert.rejects(create(t, 'small', { name: 'huge.img', capacity: '64M', prealloc: 'full' }), { code: 'NO_SPACE' });
      // Sparse volumes may over-commit; writing them fully is where space runs out.
      const full = await create(t, 'small', { name: 'a.img', capacity: '24M', prealloc: 'full' });
      assert.ok('job' in full);
      assert.equal((await t.client.waitJob(full.job.id)).state, 'succeeded');
      const second = await create(t, 'small', { name: 'b.img', capacity: '24M', prealloc: 'off' });
      assert.ok('name' in second);
      await t.client.call('deleteVolume', { params: { pool: 'small', volume: 'b.img' } });
      assert.deepEqual(await readdir(target), ['a.img']);
      await t.client.call('stopPool', { params: { pool: 'small' } });
    } finally {
      await run('umount', [target]);
    }
  }));

test('a volume open by a process cannot be deleted or shrunk; the pool cannot stop', () =>
  withDaemon(async (t) => {
    await pool(t);
    const v = (await create(t, 'p', { name: 'vm.img', capacity: '8M' })) as VolumeBody;
    const holder = spawn(process.execPath, ['-e', `require('fs').openSync(${JSON.stringify(v.path)}, 'r+'); console.log('open'); setTimeout(() => {}, 30000)`], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise((r) => holder.stdout.once('data', r));
      await assert.rejects(t.client.call('deleteVolume', { params: { pool: 'p', volume: 'vm.img' } }), (e: { code: string; message: string }) => e.code === 'IN_USE' && e.message.includes(`[${holder.pid}]`));
      await assert.rejects(t.client.call('resizeVolume', { params: { pool: 'p', volume: 'vm.img' }, body: { capacity: '4M', shrink: true } }), { code: 'IN_USE' });
      await assert.rejects(t.client.call('stopPool', { params: { pool: 'p' } }), { code: 'IN_USE' });
      const grown = await t.client.call('resizeVolume', { params: { pool: 'p', volume: 'vm.img' }, body: { capacity: '16M' } });
      assert.equal(grown.capacity, 16 * MiB);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
    }
    await t.client.call('deleteVolume', { params: { pool: 'p', volume: 'vm.img' } });
  }));

test('resize rules: shrink needs the flag; qcow2 with internal snapshots never shrinks', () =>
  withDaemon(async (t) => {
    const target = await pool(t);
    await create(t, 'p', { name: 'a.img', capacity: '8M' });
    await assert.rejects(t.client.call('resizeVolume', { params: { pool: 'p', volume: 'a.img' }, body: { capacity: '4M' } }), { code: 'CANNOT_SHRINK' });
    const shrunk = await t.client.call('resizeVolume', { params: { pool: 'p', volume: 'a.img' }, body: { capacity: '4M', shrink: true } });
    assert.equal(shrunk.capacity, 4 * MiB);
    assert.equal((await stat(path.join(target, 'a.img'))).size, 4 * MiB);
    await create(t, 'p', { name: 's.qcow2', capacity: '8M', format: 'qcow2' });
    await run('qemu-img', ['snapshot', '-c', 'snap1', path.join(target, 's.qcow2')]);
    await assert.rejects(t.client.call('resizeVolume', { params: { pool: 'p', volume: 's.qcow2' }, body: { capacity: '4M', shrink: true } }), { code: 'CANNOT_SHRINK' });
    const grown = await t.client.call('resizeVolume', { params: { pool: 'p', volume: 's.qcow2' }, body: { capacity: '16M' } });
    assert.equal(grown.capacity, 16 * MiB);
    assert.equal(grown.snapshots, 1);
  }));

test('operations on one volume serialize: a resize waits for the create; a delete meanwhile is IN_USE', () =>
  withDaemon(async (t) => {
    await pool(t);
    const recorder = await recordEvents(t.client);
    try {
      const out = await create(t, 'p', { name: 'big.img', capacity: '8G', prealloc: 'full' });
      assert.ok('job' in out);
      await recorder.first('job.progress', workDone(out.job.id));
      let settled = false;
      const resize = t.client.call('resizeVolume', { params: { pool: 'p', volume: 'big.img' }, body: { capacity: '9G' } });
      void resize.then(() => (settled = true), () => (settled = true));
      // A request sent after the resize is answered while the create runs: the resize is still waiting.
      await assert.rejects(t.client.call('deleteVolume', { params: { pool: 'p', volume: 'big.img' } }), { code: 'IN_USE' });
      assert.equal((await t.client.call('getJob', { params: { id: out.job.id } })).state, 'running');
      assert.equal(settled, false, 'the resize waits while the create holds the volume');
      await t.client.call('cancelJob', { params: { id: out.job.id } });
      await assert.rejects(resize, { code: 'NOT_FOUND' }, 'then runs, and finds no volume: the create was cancelled');
      assert.equal((await t.client.waitJob(out.job.id)).state, 'cancelled');
    } finally {
      await recorder.stop();
    }
  }));

test('rename keeps the key and refuses an existing name', () =>
  withDaemon(async (t) => {
    const target = await pool(t);
    const a = (await create(t, 'p', { name: 'a.img', capacity: '1M' })) as VolumeBody;
    await create(t, 'p', { name: 'b.img', capacity: '1M' });
    await assert.rejects(t.client.call('renameVolume', { params: { pool: 'p', volume: 'a.img' }, body: { name: 'b.img' } }), { code: 'ALREADY_EXISTS' });
    await assert.rejects(t.client.call('renameVolume', { params: { pool: 'p', volume: 'a.img' }, body: { name: '../x' } }), { code: 'INVALID_ARGUMENT' });
    const c = await t.client.call('renameVolume', { params: { pool: 'p', volume: 'a.img' }, body: { name: 'c.img' } });
    assert.equal(c.key, a.key);
    assert.equal(c.path, path.join(target, 'c.img'));
    assert.deepEqual((await readdir(target)).sort(), ['b.img', 'c.img']);
  }));

test('pool lifecycle: inactive pools refuse volume work; delete and undefine rules', () =>
  withDaemon(async (t) => {
    const target = await pool(t);
    await create(t, 'p', { name: 'a.img', capacity: '1M' });
    await copyFile(path.join(target, 'a.img'), path.join(target, 'foreign.img'));
    await t.client.call('stopPool', { params: { pool: 'p' } });
    assert.equal((await t.client.call('getPool', { params: { pool: 'p' } })).state, 'inactive');
    await assert.rejects(t.client.call('listVolumes', { params: { pool: 'p' } }), { code: 'POOL_NOT_ACTIVE' });
    await assert.rejects(create(t, 'p', { name: 'b.img', capacity: '1M' }), { code: 'POOL_NOT_ACTIVE' });
    await assert.rejects(t.client.call('deletePool', { params: { pool: 'p' } }), { code: 'POOL_NOT_EMPTY' });
    // --force deletes kvmpool's volumes only; the foreign file keeps the directory
    await assert.rejects(t.client.call('deletePool', { params: { pool: 'p' }, body: { force: true } }), { code: 'POOL_NOT_EMPTY' });
    assert.deepEqual(await readdir(target), ['foreign.img']);
    await run('rm', [path.join(target, 'foreign.img')]);
    await t.client.call('deletePool', { params: { pool: 'p' } });
    await assert.rejects(stat(path.join(t.home, 'pools-extra')), { code: 'ENOENT' });
    await assert.rejects(t.client.call('startPool', { params: { pool: 'p' } }), { code: 'POOL_NOT_BUILT' });
    await t.client.call('undefinePool', { params: { pool: 'p' } });
    await assert.rejects(t.client.call('getPool', { params: { pool: 'p' } }), { code: 'NOT_FOUND' });
    await assert.rejects(t.client.call('undefinePool', { params: { pool: 'default' } }), { code: 'POOL_ACTIVE' });
  }));

test('a pool whose directory vanishes is degraded with a reason, and recovers', () =>
  withDaemon(async (t) => {
    const target = await pool(t);
    await run('mv', [target, `${target}.away`]);
    const p = await t.client.call('getPool', { params: { pool: 'p' } });
    assert.equal(p.state, 'degraded');
    assert.match(p.reason ?? '', /missing/);
    await run('mv', [`${target}.away`, target]);
    assert.equal((await t.client.call('getPool', { params: { pool: 'p' } })).state, 'running');
  }));

test('autostart pools start with the daemon; others stay stopped after a reboot', () =>
  withDaemon(async (t) => {
    await pool(t, 'auto');
    await pool(t, 'manual');
    await t.client.call('patchPool', { params: { pool: 'auto' }, body: { autostart: true } });
    // A new boot id is what a host reboot looks like to the store.
    const { Store } = await import('../../src/state/store.js');
    await t.daemon.close();
    const store = new Store(path.join(t.home, 'kvmpool.db'));
    for (const name of ['auto', 'manual']) store.pools.update(name, { bootId: 'an-earlier-boot' });
    store.close();
    await t.restart();
    assert.equal((await t.client.call('getPool', { params: { pool: 'auto' } })).state, 'running');
    assert.equal((await t.client.call('getPool', { params: { pool: 'manual' } })).state, 'inactive');
  }));

test('a create interrupted by a crash is discarded from the journal on the next start', () =>
  withDaemon(async (t) => {
    const target = await pool(t);
    await t.daemon.close();
    const { Store } = await import('../../src/state/store.js');
    const store = new Store(path.join(t.home, 'kvmpool.db'));
    store.journal.add('volume.create', { pool: 'p', name: 'half.img' }, new Date().toISOString());
    store.close();
    await writeFile(path.join(target, '.half.img.kvmpool-part'), Buffer.alloc(4096, 1));
    await t.restart();
    assert.deepEqual(await readdir(target), []);
    assert.ok(t.logs.some((l) => /discarded the interrupted create of p\/half.img/.test(l)));
  }));

test('bad input is refused with a clear code and leaves nothing behind', () =>
  withDaemon(async (t) => {
    const target = await pool(t);
    const bad: [Record<string, unknown>, string][] = [
      [{ name: 'a/b', capacity: '1M' }, 'INVALID_ARGUMENT'],
      [{ name: '..', capacity: '1M' }, 'INVALID_ARGUMENT'],
      [{ name: '-x', capacity: '1M' }, 'INVALID_ARGUMENT'],
      [{ name: '.x', capacity: '1M' }, 'INVALID_ARGUMENT'],
      [{ name: 'a\u0001', capacity: '1M' }, 'INVALID_ARGUMENT'],
      [{ name: 'x'.repeat(129), capacity: '1M' }, 'INVALID_ARGUMENT'],
      [{ name: 'z', capacity: 0 }, 'INVALID_ARGUMENT'],
      [{ name: 'z', capacity: '-1G' }, 'INVALID_ARGUMENT'],
      [{ name: 'z', capacity: '9E' }, 'INVALID_ARGUMENT'],
      [{ name: 'z', capacity: '1M', format: 'vmdk' }, 'INVALID_ARGUMENT'],
      [{ name: 'z', capacity: '1M', prealloc: 'metadata' }, 'INVALID_ARGUMENT'],
      [{ name: 'z', capacity: '1M', prealloc: 'sometimes' }, 'INVALID_ARGUMENT'],
      [{ name: 'z', capacity: '1M', format: 'qcow2', clusterSize: '3K' }, 'INVALID_ARGUMENT'],
      [{ name: 'z', capacity: '1M', extra: true }, 'INVALID_ARGUMENT'],
    ];
    for (const [body, code] of bad) await assert.rejects(create(t, 'p', body), { code }, JSON.stringify(body));
    await assert.rejects(create(t, 'nope', { name: 'z', capacity: '1M' }), { code: 'NOT_FOUND' });
    await create(t, 'p', { name: 'z', capacity: '1M' });
    await assert.rejects(create(t, 'p', { name: 'z', capacity: '1M' }), { code: 'ALREADY_EXISTS' });
    assert.deepEqual(await readdir(target), ['z']);

    const pools: [Record<string, unknown>, string][] = [
      [{ name: 'q', type: 'dir', target: '/' }, 'INVALID_ARGUMENT'],
      [{ name: 'q', type: 'dir', target: '/etc/pool' }, 'INVALID_ARGUMENT'],
      [{ name: 'q', type: 'dir', target: '/proc/x' }, 'INVALID_ARGUMENT'],
      [{ name: 'q', type: 'dir', target: '/usr/lib/x' }, 'INVALID_ARGUMENT'],
      [{ name: 'q', type: 'dir', target: '/sys' }, 'INVALID_ARGUMENT'],
      [{ name: 'q', type: 'dir', target: '/dev/x' }, 'INVALID_ARGUMENT'],
      [{ name: 'q', type: 'dir', target: '/boot/x' }, 'INVALID_ARGUMENT'],
      [{ name: 'q', type: 'dir', target: 'relative' }, 'INVALID_ARGUMENT'],
      [{ name: 'q', type: 'zfs', target: '/srv/q' }, 'INVALID_ARGUMENT'],
      [{ name: 'q', type: 'rbd', target: '/srv/q' }, 'INVALID_ARGUMENT'],
      [{ name: 'a/b', type: 'dir', target: '/srv/q' }, 'INVALID_ARGUMENT'],
      [{ name: 'default', type: 'dir', target: '/srv/q' }, 'ALREADY_EXISTS'],
      [{ name: 'q', type: 'dir', target }, 'IN_USE'],
      [{ name: 'q', type: 'dir', target: path.join(target, 'sub') }, 'IN_USE'],
    ];
    for (const [body, code] of pools) await assert.rejects(rawCall(t.client, 'definePool', { body }), { code }, JSON.stringify(body));
    // a symlink into a system directory is judged by where it leads
    await symlink('/etc', path.join(t.home, 'etc-link'));
    await assert.rejects(t.client.call('definePool', { body: { name: 'q', type: 'dir', target: path.join(t.home, 'etc-link', 'pool') } }), { code: 'INVALID_ARGUMENT' });
    assert.deepEqual((await t.client.call('listPools')).map((p) => p.name).sort(), ['default', 'p']);
  }));
