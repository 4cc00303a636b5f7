import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as qemuImg from '../../src/host/qemu-img.js';
import { run } from '../../src/host/exec.js';
import type { PoolDefinition } from '../../src/model/pool-types.js';
import type { StorageDriver, VolumeSpec } from '../../src/drivers/storage/driver.js';
import type { VolumeFacts } from '../../src/model/volume-types.js';
import { isLocal } from '../../src/model/access.js';
import { stat } from 'node:fs/promises';
import { opContext } from '../helpers/context.js';
import { tempDir } from '../helpers/tmp.js';

/** What a driver's test file hands the suite. */
export interface ConformanceFixture {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  driver: StorageDriver<any, any>;
  /** Volume options of the type that every volume of the suite gets, unless fully preallocated (thin LVs). */
  createOptions?: Record<string, unknown>;
  /** A definition of a fresh pool (not built) and a cleanup that removes everything it made. */
  makePool(): Promise<{ def: PoolDefinition; cleanup: () => Promise<void> }>;
  /** Checks that go beyond the driver's reach, each with the reason, e.g. `{ qcow2: 'LVs are raw only' }`. */
  skip?: Partial<Record<'qcow2' | 'prealloc-full' | 'cancel-prealloc' | 'shrink' | 'sparse' | 'resize' | 'rename' | 'delete-refuses-files' | 'wipe' | 'transfers', string>>;
  /**
   * Pools of volumes made elsewhere (the LUNs of a target or an adapter): the volumes the started pool
   * shows (each at least 8 MiB, their data free to overwrite) and why the driver makes none. The suite
   * then checks listing, lookup, use, copies out, wipes and transfers on the first of them, and skips
   * what creates volumes with that reason.
   */
  provided?: { names: string[]; reason: string };
  /** The storage names a volume's users as clients of its own (RBD watchers), not as host processes. */
  remoteUsers?: boolean;
}

const MiB = 1024 * 1024;

/** A volume spec with the fixture's volume options (none for a fully preallocated volume: it is thick). */
function specOf(fx: ConformanceFixture, s: Omit<VolumeSpec, 'options'>): VolumeSpec {
  return { ...s, options: s.prealloc === 'full' ? {} : (fx.createOptions ?? {}) };
}

/** Runs qemu-io commands on a volume through its access (a file, a device, or a protocol such as RBD). */
async function qemuIo(fx: ConformanceFixture, def: PoolDefinition, v: VolumeFacts, format: string, commands: string[]): Promise<void> {
  const { options, image } = qemuImg.sourceArgs({ access: fx.driver.access(def, v, { reflink: false, directIO: true }).access, format });
  await run('qemu-io', [...options, ...commands.flatMap((c) => ['-c', c]), image]);
}

/**
 * A volume for a check: made by the driver from `s`, or, in a pool of volumes made elsewhere, the
 * first of those (its capacity is its own).
 */
async function volumeFor(fx: ConformanceFixture, def: PoolDefinition, s: Omit<VolumeSpec, 'options'>) {
  if (fx.provided) return fx.driver.volumeInfo(def, undefined, fx.provided.names[0]!);
  return fx.driver.volumes!.create(def, specOf(fx, s), opContext());
}

/**
 * The shared storage driver suite: every driver runs it. Each test builds and starts its own pool and
 * cleans it up, even when it fails.
 */
export function storageDriverConformance(name: string, fx: ConformanceFixture): void {
  const d = fx.driver;
  /** Why checks that create volumes do not run (a pool of volumes made elsewhere). */
  const makes = fx.provided?.reason;
  /** What the running test's pool build returned (a second build is given it, as the service does). */
  let built: string[] = [];
  const withPool = (title: string, body: (def: PoolDefinition, t: TestContext) => Promise<void>, skip?: string) =>
    test(`${name}: ${title}`, skip ? { skip } : {}, async (t) => {
      const { def, cleanup } = await fx.makePool();
      try {
        built = await d.build(def, opContext());
        await d.start(def, opContext());
        await body(def, t);
      } finally {
        await d.stop(def, opContext()).catch(() => undefined);
        await cleanup();
      }
    });

  withPool('a started pool is running and reports usage', async (def) => {
    const s = await d.status(def);
    assert.equal(s.state, 'running');
    // Volumes made elsewhere leave nothing available to make more from.
    assert.ok(s.capacity > 0 && (fx.provided ? s.available >= 0 : s.available > 0) && s.available <= s.capacity, JSON.stringify(s));
    assert.ok(s.allocation >= 0 && s.allocation <= s.capacity);
  });

  withPool('build twice is harmless', async (def) => {
    await d.build(def, opContext(), { built });
    assert.equal((await d.status(def)).state, 'running');
  });

  withPool('a sparse raw volume has its capacity and allocates almost nothing', async (def) => {
    const v = await d.volumes!.create(def, specOf(fx, { name: 'sparse.img', format: 'raw', capacity: 64 * MiB, prealloc: 'off' }), opContext());
    assert.equal(v.format, 'raw');
    assert.equal(v.capacity, 64 * MiB);
    assert.ok(v.allocation < MiB, `allocation ${v.allocation}`);
    const listed = await d.listVolumes(def, new Map());
    assert.deepEqual(listed.map((x) => x.name), ['sparse.img']);
  }, makes ?? fx.skip?.['sparse']);

  // Only for pools of volumes made elsewhere (the others' listings are checked with the volumes they make).
  if (fx.provided) {
    const provided = fx.provided;
    withPool('volumes made elsewhere are listed with their sizes and found by name; other names are NOT_FOUND', async (def) => {
      const listed = await d.listVolumes(def, new Map());
      for (const n of provided.names) {
        const v = listed.find((x) => x.name === n);
        assert.ok(v && v.capacity >= 8 * MiB, `${n} in ${JSON.stringify(listed.map((x) => x.name))}`);
        const again = await d.volumeInfo(def, undefined, n);
        assert.deepEqual([again.identity, again.capacity, again.path], [v.identity, v.capacity, v.path]);
      }
      await assert.rejects(d.volumeInfo(def, undefined, 'no-such-volume'), { code: 'NOT_FOUND' });
    });
  }

  withPool(
    'a fully preallocated raw volume is allocated, with progress up to its size',
    async (def) => {
      const ctx = opContext();
      const v = await d.volumes!.create(def, specOf(fx, { name: 'full.img', format: 'raw', capacity: 32 * MiB, prealloc: 'full' }), ctx);
      assert.ok(v.allocation >= 32 * MiB, `allocation ${v.allocation}`);
      assert.deepEqual(ctx.reports.at(-1), [32 * MiB, 32 * MiB]);
    },
    makes ?? fx.skip?.['prealloc-full'],
  );

  withPool(
    'qcow2 volumes are compat 1.1 with the asked cluster size and pass qemu-img check',
    async (def) => {
      for (const prealloc of ['off', 'metadata', 'falloc', 'full'] as const) {
        const v = await d.volumes!.create(def, specOf(fx, { name: `q-${prealloc}.qcow2`, format: 'qcow2', capacity: 16 * MiB, prealloc, clusterSize: 128 * 1024, lazyRefcounts: true }), opContext());
        assert.equal(v.format, 'qcow2');
        assert.equal(v.capacity, 16 * MiB);
        const check = await qemuImg.check(v.path);
        assert.deepEqual(check, { corruptions: 0, leaks: 0, checkErrors: 0 }, prealloc);
        const { stdout } = await import('../../src/host/exec.js').then((m) => m.run('qemu-img', ['info', '--output=json', '-f', 'qcow2', v.path]));
        const info = JSON.parse(stdout) as { 'cluster-size': number; 'format-specific': { data: { compat: string; 'lazy-refcounts': boolean } } };
        assert.equal(info['cluster-size'], 128 * 1024);
        assert.equal(info['format-specific'].data.compat, '1.1');
        assert.equal(info['format-specific'].data['lazy-refcounts'], true);
        if (prealloc === 'full') assert.ok(v.allocation >= 16 * MiB);
      }
    },
    makes ?? fx.skip?.qcow2,
  );

  withPool('creating over an existing name fails with ALREADY_EXISTS and keeps the volume', async (def) => {
    const first = await d.volumes!.create(def, specOf(fx, { name: 'a.img', format: 'raw', capacity: MiB, prealloc: 'off' }), opContext());
    await assert.rejects(d.volumes!.create(def, specOf(fx, { name: 'a.img', format: 'raw', capacity: 2 * MiB, prealloc: 'off' }), opContext()), { code: 'ALREADY_EXISTS' });
    const again = await d.volumeInfo(def, undefined, 'a.img');
    assert.equal(again.capacity, first.capacity);
    assert.equal(again.identity, first.identity);
  }, makes);

  withPool(
    'a cancelled preallocation leaves no volume behind',
    async (def) => {
      const ac = new AbortController();
      const ctx = opContext(ac.signal);
      // Cancelled once the driver reports work done (4 GiB to write: it cannot be done by then).
      const report = ctx.progress;
      ctx.progress = (done, total) => {
        report(done, total);
        if (done > 0) ac.abort();
      };
      const created = d.volumes!.create(def, specOf(fx, { name: 'big.img', format: 'raw', capacity: 4096 * MiB, prealloc: 'full' }), ctx);
      await assert.rejects(created, { code: 'CANCELLED' });
      assert.ok(ctx.reports.some(([done, total]) => done > 0 && done < total), JSON.stringify(ctx.reports));
      assert.deepEqual(await d.listVolumes(def, new Map()), []);
      await assert.rejects(d.volumeInfo(def, undefined, 'big.img'), { code: 'NOT_FOUND' });
    },
    makes ?? fx.skip?.['cancel-prealloc'] ?? fx.skip?.['prealloc-full'],
  );

  withPool('resize grows, and shrinks only when asked', async (def) => {
    for (const format of ['raw', 'qcow2'] as const) {
      if (format === 'qcow2' && fx.skip?.qcow2) continue;
      const v = await d.volumes!.create(def, specOf(fx, { name: `r.${format}`, format, capacity: 8 * MiB, prealloc: 'off' }), opContext());
      const grown = await d.resize!.resize(def, v, 24 * MiB, false, opContext());
      assert.equal(grown.capacity, 24 * MiB);
      assert.equal((await d.volumeInfo(def, undefined, v.name)).capacity, 24 * MiB);
      if (fx.skip?.shrink) continue;
      await assert.rejects(d.resize!.resize(def, grown, 4 * MiB, false, opContext()), { code: 'HOST_COMMAND_FAILED' });
      const shrunk = await d.resize!.resize(def, grown, 4 * MiB, true, opContext());
      assert.equal(shrunk.capacity, 4 * MiB);
    }
  }, makes ?? fx.skip?.['resize']);

  withPool('rename keeps identity and never replaces another volume', async (def) => {
    const a = await d.volumes!.create(def, specOf(fx, { name: 'a.img', format: 'raw', capacity: MiB, prealloc: 'off' }), opContext());
    const b = await d.volumes!.create(def, specOf(fx, { name: 'b.img', format: 'raw', capacity: 2 * MiB, prealloc: 'off' }), opContext());
    await assert.rejects(d.rename!.rename(def, a, 'b.img', opContext()), { code: 'ALREADY_EXISTS' });
    assert.equal((await d.volumeInfo(def, undefined, 'b.img')).identity, b.identity);
    const renamed = await d.rename!.rename(def, a, 'c.img', opContext());
    assert.equal(renamed.identity, a.identity);
    assert.deepEqual((await d.listVolumes(def, new Map())).map((x) => x.name).sort(), ['b.img', 'c.img']);
  }, makes ?? fx.skip?.['rename']);

  withPool('delete removes the volume; its info is then NOT_FOUND', async (def) => {
    const v = await d.volumes!.create(def, specOf(fx, { name: 'gone.img', format: 'raw', capacity: MiB, prealloc: 'off' }), opContext());
    await d.volumes!.delete(def, v, opContext());
    await assert.rejects(d.volumeInfo(def, undefined, 'gone.img'), { code: 'NOT_FOUND' });
    assert.deepEqual(await d.listVolumes(def, new Map()), []);
  }, makes);

  withPool('a volume is free until a process opens it', async (def) => {
    const v = await volumeFor(fx, def, { name: 'open.img', format: 'raw', capacity: MiB, prealloc: 'off' });
    assert.deepEqual(await d.volumeUsers(def, v), []);
    const { spawn } = await import('node:child_process');
    // A process holds the volume open: a plain open of a local file or device (qemu would open a
    // device exclusively, which counts as the kernel's), qemu-io through a protocol's access.
    const access = d.access(def, v, { reflink: false, directIO: true }).access;
    const protocol = qemuImg.sourceArgs({ access, format: 'raw' });
    const holder = isLocal(access)
      ? spawn(process.execPath, ['-e', `require('fs').openSync(${JSON.stringify(access.path)}, 'r'); setTimeout(() => {}, 30000)`], { stdio: 'ignore' })
      : spawn('qemu-io', [...protocol.options, '-c', 'sleep 30000', protocol.image], { stdio: 'ignore' });
    try {
      let users: string[] = [];
      for (const deadline = Date.now() + 20_000; users.length === 0 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) users = await d.volumeUsers(def, v);
      assert.equal(users.length, 1, JSON.stringify(users));
      if (!fx.remoteUsers) assert.match(users[0]!, new RegExp(`\\[${holder.pid}\\]$`));
    } finally {
      holder.kill('SIGKILL');
    }
  });

  const deleteSkip = makes ?? fx.skip?.['delete-refuses-files'];
  test(`${name}: delete removes what build made and stops at what it did not`, deleteSkip ? { skip: deleteSkip } : {}, async () => {
    const { def, cleanup } = await fx.makePool();
    try {
      const created = await d.build(def, opContext());
      await d.start(def, opContext());
      const v = await d.volumes!.create(def, specOf(fx, { name: 'x.img', format: 'raw', capacity: MiB, prealloc: 'off' }), opContext());
      await d.stop(def, opContext());
      await assert.rejects(d.delete(def, created, opContext()), { code: 'POOL_NOT_EMPTY' });
      await d.start(def, opContext());
      await d.volumes!.delete(def, v, opContext());
      await d.stop(def, opContext());
      await d.delete(def, created, opContext());
      await assert.rejects(d.start(def, opContext()), { code: 'POOL_NOT_BUILT' });
    } finally {
      await cleanup();
    }
  });
}

/** The data half of the suite: clones, copies, snapshots, wipes and transfers through the driver. */
export function storageDataConformance(name: string, fx: ConformanceFixture): void {
  const d = fx.driver;
  const makes = fx.provided?.reason;
  const withPool = (title: string, body: (def: PoolDefinition) => Promise<void>, skip?: string) =>
    test(`${name}: ${title}`, skip ? { skip } : {}, async () => {
      const { def, cleanup } = await fx.makePool();
      try {
        await d.build(def, opContext());
        await d.start(def, opContext());
        await body(def);
      } finally {
        await d.stop(def, opContext()).catch(() => undefined);
        await cleanup();
      }
    });
  const traits = { reflink: false, directIO: true };

  withPool('a copy keeps content and converts formats', async (def) => {
    const src = await d.volumes!.create(def, specOf(fx, { name: 'src.img', format: 'raw', capacity: 8 * MiB, prealloc: 'off' }), opContext());
    await qemuIo(fx, def, src, 'raw', ['write -P 5 1M 1M']);
    const ctx = opContext();
    // A pool without qcow2 copies into its own format.
    const format = fx.skip?.qcow2 ? 'raw' : 'qcow2';
    const probed = { ...traits, ...(await d.probe(def)) };
    const q = await d.copy!.copyInto(def, { access: d.access(def, src, probed), format: 'raw', capacity: src.capacity }, { name: `copy.${format}`, format }, probed, ctx);
    assert.equal(q.format, format);
    assert.equal(q.capacity, 8 * MiB);
    await qemuIo(fx, def, q, format, ['read -P 0 0 1M', 'read -P 5 1M 1M', `read -P 0 ${2 * MiB} ${6 * MiB}`]);
    assert.deepEqual(ctx.reports.at(-1), [8 * MiB, 8 * MiB]);
  }, makes);

  withPool(
    'a copy out reads the volume through its access',
    async (def) => {
      const v = await volumeFor(fx, def, { name: 'out.img', format: 'raw', capacity: 8 * MiB, prealloc: 'off' });
      await qemuIo(fx, def, v, 'raw', ['write -P 5 1M 1M']);
      const { dir, cleanup } = await tempDir();
      try {
        const source = qemuImg.sourceArgs({ access: d.access(def, v, { ...traits, ...(await d.probe(def)) }).access, format: 'raw' });
        const out = `${dir}/out.img`;
        await run('qemu-img', ['convert', ...source.options, source.image, '-O', 'raw', out]);
        await run('qemu-io', ['-f', 'raw', '-c', 'read -P 5 1M 1M', out]);
        assert.equal((await stat(out)).size, v.capacity);
      } finally {
        await cleanup();
      }
    },
  );

  withPool(
    'a linked clone reads through to its source',
    async (def) => {
      const src = await d.volumes!.create(def, specOf(fx, { name: 'base.qcow2', format: 'qcow2', capacity: 8 * MiB, prealloc: 'off' }), opContext());
      await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 6 0 1M', src.path]);
      const overlay = await d.clones!['linked']!.clone(def, await d.volumeInfo(def, undefined, 'base.qcow2'), { name: 'vm.qcow2', format: 'qcow2' }, opContext());
      assert.equal(overlay.backingFile, 'base.qcow2');
      await run('qemu-io', ['-f', 'qcow2', '-c', 'read -P 6 0 1M', overlay.path]);
    },
    makes ?? fx.skip?.qcow2,
  );

  withPool(
    'qcow2 snapshots: create, list, revert, delete',
    async (def) => {
      const v = await d.volumes!.create(def, specOf(fx, { name: 's.qcow2', format: 'qcow2', capacity: 8 * MiB, prealloc: 'off' }), opContext());
      await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 1 0 64k', v.path]);
      const snap = await d.snapshots!.create(def, v, 'one', opContext(), {});
      assert.equal(snap.name, 'one');
      await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 2 0 64k', v.path]);
      await d.snapshots!.revert(def, await d.volumeInfo(def, undefined, 's.qcow2'), 'one', opContext());
      await run('qemu-io', ['-f', 'qcow2', '-c', 'read -P 1 0 64k', v.path]);
      assert.deepEqual((await d.snapshots!.list(def, v)).map((s) => s.name), ['one']);
      await d.snapshots!.delete(def, v, 'one', opContext());
      assert.deepEqual(await d.snapshots!.list(def, v), []);
      await assert.rejects(d.snapshots!.delete(def, v, 'one', opContext()), { code: 'NOT_FOUND' });
    },
    makes ?? fx.skip?.qcow2,
  );

  withPool('wipe leaves zeros and verifies', async (def) => {
    const v = await volumeFor(fx, def, { name: 'w.img', format: 'raw', capacity: 4 * MiB, prealloc: 'off' });
    await qemuIo(fx, def, v, 'raw', ['write -P 9 0 4M', `write -P 9 ${v.capacity - MiB} 1M`]);
    await d.wipe!.wipe(def, await d.volumeInfo(def, undefined, v.name), 'zero', true, opContext());
    await qemuIo(fx, def, v, 'raw', ['read -P 0 0 4M', `read -P 0 ${v.capacity - MiB} 1M`]);
  }, fx.skip?.wipe);

  withPool('data extents cover the volume; a staged upload replaces it', async (def) => {
    const v = await volumeFor(fx, def, { name: 'u.img', format: 'raw', capacity: 4 * MiB, prealloc: 'off' });
    await qemuIo(fx, def, v, 'raw', ['write -P 3 1M 64k']);
    const extents = await d.transfers!.dataExtents(def, v);
    const size = fx.provided ? v.capacity : 4 * MiB;
    assert.equal(extents.reduce((n, e) => n + e.length, 0), size);
    assert.ok(extents.some((e) => e.data && e.start <= MiB && e.start + e.length >= MiB + 65536));
    // Old data past the end of the upload must not show through (storage staged in place).
    await qemuIo(fx, def, v, 'raw', ['write -P 3 3M 64k']);
    const stage = await d.transfers!.stage(def, v);
    if ('open' in stage) {
      // Storage the driver writes (an RBD image) reads as zeros where nothing is written.
      const out = await stage.open(new AbortController().signal);
      await out.write(0, Buffer.alloc(65536, 4));
      await out.close();
    } else {
      if (stage.create) await run('truncate', ['-s', String(2 * MiB), stage.access.path]);
      // What the service does for storage that does not read as zeros: holes are written.
      const zeros = stage.zeroHoles ? ['-c', `write -z 64k ${2 * MiB - 65536}`] : [];
      await run('qemu-io', ['-f', 'raw', '-c', 'write -P 4 0 64k', ...zeros, stage.access.path]);
    }
    const after = await d.transfers!.commit(def, v, stage, 2 * MiB, false, opContext());
    assert.equal(after.capacity, size, 'a smaller upload keeps the capacity');
    await qemuIo(fx, def, after, 'raw', ['read -P 4 0 64k', 'read -P 0 1M 64k', 'read -P 0 3M 64k']);
  }, fx.skip?.transfers);
}
