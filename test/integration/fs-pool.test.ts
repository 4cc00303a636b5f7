import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../src/host/exec.js';
import { deviceSignatures } from '../../src/host/blockdev.js';
import { mountAt } from '../../src/host/mount.js';
import { withDaemon, type TestDaemon } from '../helpers/daemon.js';
import { waitHoldsOpen } from '../helpers/proc.js';
import { loopDevice } from '../helpers/loop.js';

const MiB = 1024 * 1024;

const define = (t: TestDaemon, name: string, device: string, extra: Record<string, unknown> = {}) =>
  t.client.call('definePool', { body: { name, type: 'fs', target: path.join(t.home, 'mnt', name), source: { devices: [device], ...extra } } as never });

test('an xfs fs pool: build formats, start mounts safely, clones are reflinks, stop and delete undo it', () =>
  withDaemon(async (t) => {
    const loop = await loopDevice(t.home, 400 * MiB);
    try {
      await define(t, 'f', loop.device, { fsFormat: 'xfs' });
      await t.client.call('buildPool', { params: { pool: 'f' } });
      assert.deepEqual((await deviceSignatures(loop.device)).map((s) => s.type), ['xfs']);
      const info = await t.client.call('startPool', { params: { pool: 'f' } });
      assert.equal(info.state, 'running');
      assert.ok(info.capacity > 300 * MiB, JSON.stringify(info));
      const mounted = await mountAt(path.join(t.home, 'mnt', 'f'));
      for (const option of ['nodev', 'nosuid', 'noexec']) assert.ok(mounted?.options.split(',').includes(option), mounted?.options);

      const vol = await t.client.call('createVolume', { params: { pool: 'f' }, body: { name: 'src.img', capacity: '64M' } });
      await run('dd', ['if=/dev/urandom', `of=${(vol as { path: string }).path}`, 'bs=1M', 'count=16', 'conv=notrunc', 'status=none']);
      const { job } = await t.client.call('cloneVolume', { params: { pool: 'f', volume: 'src.img' }, body: { name: 'clone.img' } });
      const done = await t.client.waitJob(job.id);
      const made = done.result as { volume: { pool: string; name: string }; method: string };
      assert.deepEqual({ volume: `${made.volume.pool}/${made.volume.name}`, method: made.method }, { volume: 'f/clone.img', method: 'reflink' });
      await run('cmp', [(vol as { path: string }).path, path.join(t.home, 'mnt', 'f', 'clone.img')]);

      // A process holding a volume open keeps the pool from stopping.
      const holder = spawn('sh', ['-c', 'exec 3<"$0"; exec sleep 30', (vol as { path: string }).path], { stdio: 'ignore' });
      try {
        await waitHoldsOpen(holder.pid!, (vol as { path: string }).path);
        await assert.rejects(t.client.call('stopPool', { params: { pool: 'f' }, body: {} }), { code: 'IN_USE' });
      } finally {
        holder.kill('SIGKILL');
        await new Promise((r) => holder.once('exit', r));
      }
      await t.client.call('stopPool', { params: { pool: 'f' }, body: {} });
      assert.equal(await mountAt(path.join(t.home, 'mnt', 'f')), undefined);
      // Stopped, its volumes are out of sight but still there: delete refuses to erase them.
      await assert.rejects(t.client.call('deletePool', { params: { pool: 'f' }, body: {} }), { code: 'POOL_NOT_EMPTY' });
      assert.deepEqual((await deviceSignatures(loop.device)).map((s) => s.type), ['xfs']);

      await t.client.call('startPool', { params: { pool: 'f' } });
      for (const v of ['src.img', 'clone.img']) await t.client.call('deleteVolume', { params: { pool: 'f', volume: v } });
      await t.client.call('stopPool', { params: { pool: 'f' }, body: {} });
      await t.client.call('deletePool', { params: { pool: 'f' }, body: {} });
      assert.deepEqual(await deviceSignatures(loop.device), []);
    } finally {
      await loop.detach();
    }
  }));

test('fs pools refuse devices that hold data, are in use, too small, missing or shared, and leave them as they were', () =>
  withDaemon(async (t) => {
    const used = await loopDevice(t.home, 64 * MiB, 'used.img');
    const small = await loopDevice(t.home, 100 * MiB, 'small.img');
    const elsewhere = path.join(t.home, 'elsewhere');
    try {
      // Bad definitions.
      await assert.rejects(t.client.call('definePool', { body: { name: 'x', type: 'fs', target: path.join(t.home, 'x') } }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(define(t, 'x', '/tmp/not-a-device'), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(define(t, 'x', used.device, { fsFormat: 'zfs' }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(
        t.client.call('definePool', { body: { name: 'x', type: 'fs', target: path.join(t.home, 'x'), source: { devices: [used.device, small.device] } } }),
        { code: 'INVALID_ARGUMENT' },
      );

      // A device with a file system on it is kept unless the user hands it over with overwrite.
      await run('mkfs.ext4', ['-q', '-F', used.device]);
      const signatures = async () => (await deviceSignatures(used.device)).map((s) => s.type);
      await define(t, 'u', used.device, { fsFormat: 'xfs' });
      await assert.rejects(define(t, 'u2', used.device), { code: 'IN_USE' });
      // Too small for xfs (64 MiB): refused before anything is erased, even with overwrite.
      await assert.rejects(t.client.call('buildPool', { params: { pool: 'u' }, body: { overwrite: true } }), { code: 'INVALID_ARGUMENT' });
      assert.deepEqual(await signatures(), ['ext4']);
      // A pool whose device holds another file system than its own does not mount it.
      await assert.rejects(t.client.call('startPool', { params: { pool: 'u' } }), { code: 'POOL_NOT_BUILT' });
      await t.client.call('undefinePool', { params: { pool: 'u' } });

      await define(t, 'u', used.device);
      await assert.rejects(t.client.call('buildPool', { params: { pool: 'u' } }), (e: { code: string; details: { signatures: string[] } }) => {
        assert.equal(e.code, 'DEVICE_NOT_EMPTY');
        assert.deepEqual(e.details.signatures, ['ext4']);
        return true;
      });
      const before = (await deviceSignatures(used.device))[0]?.uuid;
      // Mounted elsewhere: in use, even with overwrite.
      await mkdir(elsewhere);
      await run('mount', [used.device, elsewhere]);
      try {
        await assert.rejects(t.client.call('buildPool', { params: { pool: 'u' }, body: { overwrite: true } }), { code: 'IN_USE' });
      } finally {
        await run('umount', [elsewhere]);
      }
      assert.equal((await deviceSignatures(used.device))[0]?.uuid, before);
      // Handed over: a new file system replaces the old one.
      await t.client.call('buildPool', { params: { pool: 'u' }, body: { overwrite: true } });
      const after = await deviceSignatures(used.device);
      assert.equal(after.length, 1);
      assert.notEqual(after[0]?.uuid, before);

      await define(t, 's', small.device);
      await t.client.call('buildPool', { params: { pool: 's' } });
      await t.client.call('startPool', { params: { pool: 's' } });
      assert.equal((await t.client.call('getPool', { params: { pool: 's' } })).source?.fsFormat, 'ext4');
      await t.client.call('stopPool', { params: { pool: 's' }, body: {} });

      await define(t, 'gone', '/dev/kvmpool-test-missing');
      await assert.rejects(t.client.call('buildPool', { params: { pool: 'gone' } }), { code: 'NOT_FOUND' });
    } finally {
      await used.detach();
      await small.detach();
    }
  }));
