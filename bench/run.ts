/**
 * `npm run bench`: kvmpool side by side with qemu-img and libvirt (virsh, when installed) in the same
 * run, on the same file systems: clones on ext4 and on xfs with reflink (a loop file), a copy with
 * conversion across pools, upload and download, creating 200 qcow2 volumes, and wipe. Each timing
 * includes a final `sync` (data on disk). Prints a markdown table of times, ratios and allocation.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createHash, randomFillSync } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { run } from '../src/host/exec.js';
import { formatSize } from '../src/model/sizes.js';
import { startDaemon } from '../src/daemon/daemon.js';
import { KvmpoolClient } from '../src/client/client.js';
import { PACKAGE_ROOT } from '../src/daemon/home.js';
import { startLibvirt, type Libvirt } from './peers.js';
import { scaleRows, scaleTable, type ScaleRow } from './scale.js';
import { netfsRows, netfsTable } from './netfs.js';
import { rbdRows, rbdTable, type RbdRow } from './rbd.js';
import { print, report, type Row } from './table.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const work = `/var/tmp/kvmpool-bench-${process.pid}`;
const cli = path.join(PACKAGE_ROOT, 'bin', 'kvmpool.js');

/**
 * Waits until no disk has done any I/O for half a second (at most 15 s). Deleting a volume leaves
 * the disk busy after the call returns (discards of the freed blocks, on a file system mounted with
 * `discard`): that work would otherwise slow down whatever is timed next.
 */
async function settle(): Promise<void> {
  let last = '';
  let quiet = 0;
  for (let waited = 0; waited < 15_000 && quiet < 2; waited += 250) {
    const now = await readFile('/proc/diskstats', 'utf8');
    quiet = now === last ? quiet + 1 : 0;
    last = now;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Seconds `fn` takes, to a final `sync`. Every contender starts on an idle disk with an empty page
 * cache: otherwise whoever reads a file second finds it in memory that the first one put there.
 */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  await run('sync', []);
  await writeFile('/proc/sys/vm/drop_caches', '3');
  await settle();
  const t = performance.now();
  await fn();
  await run('sync', [], { timeoutMs: 600_000 });
  return (performance.now() - t) / 1000;
}

/** The median of three timings of `fn`, with `reset` run after each (this machine's timings vary a lot). */
async function median3(fn: () => Promise<unknown>, reset: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    times.push(await timed(fn));
    await reset();
  }
  return times.sort((a, b) => a - b)[1]!;
}

/**
 * What this machine allows a transfer, measured like the rest: copying `file` (1 GiB of data) to
 * another file of the same file system with two dd processes and O_DIRECT at both ends (the disk's
 * floor for a local upload or download), and sha256 of memory on one core (every transfer hashes the
 * whole content, holes included).
 */
async function floors(file: string, scratch: string): Promise<{ disk: number; sha256: number }> {
  const disk = await timed(
    () =>
      new Promise<void>((resolve, reject) => {
        const reader = spawn('dd', [`if=${file}`, 'bs=4M', 'iflag=direct', 'status=none'], { stdio: ['ignore', 'pipe', 'inherit'] });
        // The reader's stdout is the writer's stdin: one pipe between the two, not through this process.
        const writer = spawn('dd', [`of=${scratch}`, 'bs=4M', 'oflag=direct', 'iflag=fullblock', 'status=none'], { stdio: [reader.stdout, 'ignore', 'inherit'] });
        reader.on('error', reject);
        writer.on('error', reject);
        // Both must succeed: a reader that failed would leave a short copy and a floor too low.
        const exited = (p: ChildProcess) => new Promise<void>((ok, fail) => p.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`dd exited with ${code}`)))));
        Promise.all([exited(reader), exited(writer)]).then(() => resolve(), reject);
      }),
  );
  await rm(scratch);
  const block = randomFillSync(Buffer.alloc(4 * MiB));
  const hash = createHash('sha256');
  const t = performance.now();
  for (let i = 0; i < 256; i++) hash.update(block);
  hash.digest();
  return { disk, sha256: GiB / ((performance.now() - t) / 1000) };
}

const blocks = async (file: string) => (await stat(file)).blocks * 512;

/** A raw image of `size` bytes with `written` bytes of random data in 64 MiB runs spread over it. */
async function makeSource(file: string, size: number, written: number): Promise<void> {
  await run('truncate', ['-s', String(size), file]);
  const chunk = path.join(work, 'random.bin');
  if (!(await stat(chunk).catch(() => undefined))) await writeFile(chunk, randomFillSync(Buffer.alloc(64 * MiB)));
  const runs = written / (64 * MiB);
  const stride = Math.floor(size / (64 * MiB) / runs);
  for (let i = 0; i < runs; i++) {
    await run('dd', [`if=${chunk}`, `of=${file}`, 'bs=64M', 'count=1', `seek=${i * stride}`, 'conv=notrunc', 'oflag=direct', 'status=none']);
  }
}

/**
 * `npm run bench -- [--only transfers|scale|netfs|rbd] [--scale 10000,100000]`: one section alone, and the pool
 * sizes of the scale section.
 */
function options(): { only?: string; sizes: number[] } {
  const arg = (flag: string) => {
    const i = process.argv.indexOf(flag);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const only = arg('--only');
  if (only !== undefined && !['transfers', 'scale', 'netfs', 'rbd'].includes(only)) throw new Error(`--only takes transfers, scale, netfs or rbd, not ${only}`);
  const sizes = (arg('--scale') ?? '10000,100000').split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 100)) throw new Error('--scale takes pool sizes of at least 100 volumes, comma-separated');
  return { ...(only ? { only } : {}), sizes };
}

async function main(): Promise<void> {
  const { only, sizes } = options();
  let scale: ScaleRow[] = [];
  let rbd: RbdRow[] = [];
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (loop devices, mounts)');
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const daemon = await startDaemon({ home: path.join(work, 'home'), listen: null, log: () => {} });
  const client = new KvmpoolClient({ socketPath: daemon.paths.socket });
  /** Starts a job through the API and waits for it; fails the run when it does not succeed. */
  const job = async (started: Promise<{ job: { id: string } }>) => {
    const end = await client.waitJob((await started).job.id);
    if (end.state !== 'succeeded') throw new Error(JSON.stringify(end.error));
    return end;
  };
  // The CLI as users run it: the bin file itself, with the node options of its first line.
  const k = (...args: string[]) => run(cli, ['--home', daemon.paths.home, ...args], { timeoutMs: 600_000 });
  const libvirt = await startLibvirt();
  const xfsImage = path.join(work, 'xfs.img');
  const xfs = path.join(work, 'xfs');
  let mounted = false;
  const libvirtPools: string[] = [];
  let floor: { disk: number; sha256: number } | undefined;
  try {
    // The transfer rows (all but the scale section, which runs last).
    transfers: {
    if (only === 'scale' || only === 'netfs' || only === 'rbd') break transfers;
    await run('truncate', ['-s', String(40 * GiB), xfsImage]);
    await run('mkfs.xfs', ['-q', '-m', 'reflink=1', xfsImage]);
    await mkdir(xfs);
    await run('mount', ['-o', 'loop', xfsImage, xfs]);
    mounted = true;

    const pools = { ext: path.join(work, 'ext'), ext2: path.join(work, 'ext2'), xfs: path.join(xfs, 'pool') };
    for (const [name, target] of Object.entries(pools)) {
      await client.call('definePool', { body: { name, type: 'dir', target } });
      await client.call('buildPool', { params: { pool: name } });
      await client.call('startPool', { params: { pool: name } });
      if (libvirt) {
        await libvirt.virsh('pool-define-as', `kvmpool-bench-${name}`, 'dir', '--target', target);
        libvirtPools.push(`kvmpool-bench-${name}`);
        await libvirt.virsh('pool-start', `kvmpool-bench-${name}`);
      }
    }
    const lv = (pool: string) => `kvmpool-bench-${pool}`;
    const refresh = async (pool: string) => {
      await client.call('refreshPool', { params: { pool } });
      if (libvirt) await libvirt.virsh('pool-refresh', lv(pool));
    };

    process.stderr.write('preparing sources...\n');
    await makeSource(path.join(pools.ext, 'src.img'), 2 * GiB, GiB);
    await makeSource(path.join(pools.xfs, 'src.img'), 2 * GiB, GiB);
    await makeSource(path.join(pools.xfs, 'big.img'), 16 * GiB, 8 * GiB);
    for (const p of Object.keys(pools)) await refresh(p);

    // clone on ext4
    process.stderr.write('clone on ext4...\n');
    {
      const kt = await timed(() => job(client.call('cloneVolume', { params: { pool: 'ext', volume: 'src.img' }, body: { name: 'k.img' } })));
      const qt = await timed(() => run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', path.join(pools.ext, 'src.img'), path.join(pools.ext, 'q.img')], { timeoutMs: 600_000 }));
      const vt = libvirt ? await timed(() => libvirt.virsh('vol-clone', 'src.img', 'v.img', '--pool', lv('ext'))) : undefined;
      report({
        operation: 'clone 2 GiB raw (1 GiB written), ext4',
        kvmpool: kt,
        kvmpoolNote: 'copy',
        qemuImg: qt,
        ...(vt !== undefined ? { libvirt: vt } : {}),
        allocated: `${formatSize(await blocks(path.join(pools.ext, 'k.img')))} / ${formatSize(await blocks(path.join(pools.ext, 'q.img')))}${libvirt ? ` / ${formatSize(await blocks(path.join(pools.ext, 'v.img')))}` : ''}`,
      });
      await rm(path.join(pools.ext, 'q.img'));
      if (libvirt) await libvirt.virsh('vol-delete', 'v.img', '--pool', lv('ext'));
      await client.call('deleteVolume', { params: { pool: 'ext', volume: 'k.img' } });
    }

    // clone on xfs with reflink, 2 GiB and 16 GiB
    process.stderr.write('clone on xfs (reflink)...\n');
    for (const [src, size] of [['src.img', '2 GiB (1 GiB written)'], ['big.img', '16 GiB (8 GiB written)']] as const) {
      let method = '';
      const kt = await timed(async () => {
        method = ((await job(client.call('cloneVolume', { params: { pool: 'xfs', volume: src }, body: { name: `k-${src}` } }))).result as { method: string }).method;
      });
      const row: Row = { operation: `clone ${size} raw, xfs reflink`, kvmpool: kt, kvmpoolNote: method };
      if (src === 'src.img') {
        row.qemuImg = await timed(() => run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', path.join(pools.xfs, src), path.join(pools.xfs, 'q.img')], { timeoutMs: 600_000 }));
        if (libvirt) row.libvirt = await timed(() => libvirt.virsh('vol-clone', src, 'v.img', '--pool', lv('xfs')));
        row.allocated = `${formatSize(await blocks(path.join(pools.xfs, `k-${src}`)))} shared / ${formatSize(await blocks(path.join(pools.xfs, 'q.img')))}${libvirt ? ` / ${formatSize(await blocks(path.join(pools.xfs, 'v.img')))}` : ''}`;
        await rm(path.join(pools.xfs, 'q.img'));
        if (libvirt) await libvirt.virsh('vol-delete', 'v.img', '--pool', lv('xfs'));
      } else {
        row.allocated = `${formatSize(await blocks(path.join(pools.xfs, `k-${src}`)))} shared`;
      }
      report(row);
      await client.call('deleteVolume', { params: { pool: 'xfs', volume: `k-${src}` } });
    }

    // copy with conversion across pools
    process.stderr.write('copy raw -> qcow2 across pools...\n');
    {
      const kt = await timed(() => job(client.call('cloneVolume', { params: { pool: 'ext', volume: 'src.img' }, body: { name: 'k.qcow2', pool: 'ext2', format: 'qcow2' } })));
      const qt = await timed(() => run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', '-o', 'compat=1.1', path.join(pools.ext, 'src.img'), path.join(pools.ext2, 'q.qcow2')], { timeoutMs: 600_000 }));
      let vt: number | undefined;
      if (libvirt) {
        const xml = path.join(work, 'vol.xml');
        await writeFile(xml, `<volume><name>v.qcow2</name><capacity unit='bytes'>${2 * GiB}</capacity><target><format type='qcow2'/></target></volume>`);
        vt = await timed(() => libvirt.virsh('vol-create-from', lv('ext2'), xml, '--inputpool', lv('ext'), 'src.img'));
      }
      report({
        operation: 'copy raw -> qcow2 across pools, ext4',
        kvmpool: kt,
        qemuImg: qt,
        ...(vt !== undefined ? { libvirt: vt } : {}),
        allocated: `${formatSize(await blocks(path.join(pools.ext2, 'k.qcow2')))} / ${formatSize(await blocks(path.join(pools.ext2, 'q.qcow2')))}${libvirt ? ` / ${formatSize(await blocks(path.join(pools.ext2, 'v.qcow2')))}` : ''}`,
      });
      await rm(path.join(pools.ext2, 'q.qcow2'));
      if (libvirt) await libvirt.virsh('vol-delete', 'v.qcow2', '--pool', lv('ext2'));
      await client.call('deleteVolume', { params: { pool: 'ext2', volume: 'k.qcow2' } });
    }

    // download and upload of the same volume (CLI against virsh), each the median of three
    process.stderr.write('download and upload...\n');
    const local = path.join(work, 'local.img');
    /** A download's median time, and how much of the local file it allocated (removed after each run). */
    const downloads = async (fn: () => Promise<unknown>, file = local) => {
      let allocated = 0;
      const time = await median3(fn, async () => {
        allocated = await blocks(file);
        await rm(file);
      });
      return { time, allocated };
    };
    /**
     * An upload's median time, each run into a new, empty volume made outside the timing (replacing the
     * content of the last run would also time how fast the file system frees it), and the allocation.
     */
    const uploads = async (target: { file: string; create: () => Promise<unknown>; remove: () => Promise<unknown> }, fn: () => Promise<unknown>) => {
      let allocated = 0;
      await target.create();
      const time = await median3(fn, async () => {
        allocated = await blocks(target.file);
        await target.remove();
        await target.create();
      });
      await target.remove();
      return { time, allocated };
    };
    const kvmpoolVolume = (name: string, capacity: number, pool: 'ext' | 'xfs' = 'ext') => ({
      file: path.join(pools[pool], name),
      create: () => client.call('createVolume', { params: { pool }, body: { name, capacity } }),
      remove: () => client.call('deleteVolume', { params: { pool, volume: name } }),
    });
    const libvirtVolume = (peer: Libvirt, name: string, capacity: number, pool: 'ext' | 'xfs' = 'ext') => ({
      file: path.join(pools[pool], name),
      create: () => peer.virsh('vol-create-as', lv(pool), name, String(capacity), '--format', 'raw'),
      remove: () => peer.virsh('vol-delete', name, '--pool', lv(pool)),
    });
    const alloc = (ours: number, theirs: number | undefined) => `${formatSize(ours)}${theirs !== undefined ? ` / - / ${formatSize(theirs)}` : ''}`;

    for (const sparse of [false, true]) {
      const flag = sparse ? ['--sparse'] : [];
      const ours = await downloads(() => k('vol', 'download', 'ext/src.img', local, ...flag));
      const theirs = libvirt ? await downloads(() => libvirt.virsh('vol-download', 'src.img', local, '--pool', lv('ext'), ...flag)) : undefined;
      report({ operation: `download 2 GiB raw (1 GiB written)${sparse ? ' --sparse' : ''}, both sides`, kvmpool: ours.time, ...(theirs ? { libvirt: theirs.time } : {}), allocated: alloc(ours.allocated, theirs?.allocated) });
    }
    await k('vol', 'download', 'ext/src.img', local, '--sparse');
    const up = await uploads(kvmpoolVolume('up.img', 2 * GiB), () => k('vol', 'upload', 'ext/up.img', local));
    for (const sparse of [false, true]) {
      const theirs = libvirt ? await uploads(libvirtVolume(libvirt, 'vup.img', 2 * GiB), () => libvirt.virsh('vol-upload', 'vup.img', local, '--pool', lv('ext'), ...(sparse ? ['--sparse'] : []))) : undefined;
      report({ operation: `upload 2 GiB raw (1 GiB written), against virsh${sparse ? ' --sparse' : ''}`, kvmpool: up.time, ...(theirs ? { libvirt: theirs.time } : {}), allocated: alloc(up.allocated, theirs?.allocated) });
    }
    await rm(local);

    // throughput with data that is all non-zero, and what the disk and the CPU allow
    process.stderr.write('all non-zero data...\n');
    {
      const dense = path.join(pools.ext, 'dense.img');
      await makeSource(dense, GiB, GiB);
      await refresh('ext');
      const kd = (await downloads(() => k('vol', 'download', 'ext/dense.img', local, '--sparse'))).time;
      // The CLI on the daemon's host hands the file over; --stream sends the bytes as a remote client does.
      const sd = (await downloads(() => k('vol', 'download', 'ext/dense.img', local, '--sparse', '--stream'))).time;
      await k('vol', 'download', 'ext/dense.img', local, '--sparse');
      const ku = (await uploads(kvmpoolVolume('dense2.img', GiB), () => k('vol', 'upload', 'ext/dense2.img', local))).time;
      const su = (await uploads(kvmpoolVolume('dense2.img', GiB), () => k('vol', 'upload', 'ext/dense2.img', local, '--stream'))).time;
      let vd: number | undefined;
      let vu: number | undefined;
      if (libvirt) {
        vu = (await uploads(libvirtVolume(libvirt, 'vdense2.img', GiB), () => libvirt.virsh('vol-upload', 'vdense2.img', local, '--pool', lv('ext')))).time;
        await rm(local);
        vd = (await downloads(() => libvirt.virsh('vol-download', 'dense.img', local, '--pool', lv('ext')))).time;
      }
      await rm(local, { force: true });
      report({ operation: `download 1 GiB of non-zero data (${Math.round(GiB / MiB / kd)} MiB/s)`, kvmpool: kd, ...(vd !== undefined ? { libvirt: vd } : {}) });
      report({ operation: `upload 1 GiB of non-zero data (${Math.round(GiB / MiB / ku)} MiB/s)`, kvmpool: ku, ...(vu !== undefined ? { libvirt: vu } : {}) });
      report({ operation: `download 1 GiB of non-zero data, streamed (--stream, ${Math.round(GiB / MiB / sd)} MiB/s)`, kvmpool: sd, ...(vd !== undefined ? { libvirt: vd } : {}) });
      report({ operation: `upload 1 GiB of non-zero data, streamed (--stream, ${Math.round(GiB / MiB / su)} MiB/s)`, kvmpool: su, ...(vu !== undefined ? { libvirt: vu } : {}) });
      floor = await floors(dense, local);
      await client.call('deleteVolume', { params: { pool: 'ext', volume: 'dense.img' }, query: { force: true } });
    }

    // the same on xfs with reflink, the file beside the pool on its file system: kvmpool shares the
    // blocks (then reads the content once for its sha256), virsh streams them
    process.stderr.write('all non-zero data, xfs (reflink)...\n');
    {
      const dense = path.join(pools.xfs, 'xdense.img');
      const xlocal = path.join(xfs, 'local.img');
      await makeSource(dense, GiB, GiB);
      await refresh('xfs');
      const kd = (await downloads(() => k('vol', 'download', 'xfs/xdense.img', xlocal, '--sparse'), xlocal)).time;
      const vd = libvirt ? (await downloads(() => libvirt.virsh('vol-download', 'xdense.img', xlocal, '--pool', lv('xfs')), xlocal)).time : undefined;
      await k('vol', 'download', 'xfs/xdense.img', xlocal, '--sparse', '--stream');
      const ku = (await uploads(kvmpoolVolume('xdense2.img', GiB, 'xfs'), () => k('vol', 'upload', 'xfs/xdense2.img', xlocal))).time;
      const vu = libvirt ? (await uploads(libvirtVolume(libvirt, 'vxdense2.img', GiB, 'xfs'), () => libvirt.virsh('vol-upload', 'vxdense2.img', xlocal, '--pool', lv('xfs')))).time : undefined;
      await rm(xlocal, { force: true });
      report({ operation: 'download 1 GiB of non-zero data, xfs, same file system (shared)', kvmpool: kd, ...(vd !== undefined ? { libvirt: vd } : {}) });
      report({ operation: 'upload 1 GiB of non-zero data, xfs, same file system (shared)', kvmpool: ku, ...(vu !== undefined ? { libvirt: vu } : {}) });
      await client.call('deleteVolume', { params: { pool: 'xfs', volume: 'xdense.img' }, query: { force: true } });
    }

    // create 200 qcow2 volumes
    process.stderr.write('create 200 qcow2 volumes...\n');
    {
      const names = Array.from({ length: 200 }, (_, i) => `c${i}.qcow2`);
      const kt = await timed(async () => {
        for (let i = 0; i < names.length; i += 8) {
          await Promise.all(names.slice(i, i + 8).map((name) => client.call('createVolume', { params: { pool: 'ext2' }, body: { name, capacity: 10 * GiB, format: 'qcow2' } })));
        }
      });
      const qdir = path.join(work, 'qemu-img-creates');
      await mkdir(qdir);
      const qt = await timed(async () => {
        for (const name of names) await run('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(qdir, name), String(10 * GiB)]);
      });
      let vt: number | undefined;
      if (libvirt) {
        // One virsh process running all 200 commands: libvirt at its best.
        const script = names.map((n) => `vol-create-as ${lv('ext')} ${n} ${10 * GiB} --format qcow2`).join('\n');
        const file = path.join(work, 'creates.virsh');
        await writeFile(file, `${script}\n`);
        vt = await timed(() => libvirt.script(file));
      }
      report({ operation: 'create 200 qcow2 volumes (10 GiB)', kvmpool: kt, kvmpoolNote: 'API', qemuImg: qt, ...(vt !== undefined ? { libvirt: vt, libvirtNote: 'one virsh' } : {}) });
      for (const name of names) await client.call('deleteVolume', { params: { pool: 'ext2', volume: name } });
      if (libvirt) for (const name of names) await rm(path.join(pools.ext, name), { force: true });
      await rm(qdir, { recursive: true });
      await refresh('ext');
    }

    // wipe
    process.stderr.write('wipe...\n');
    {
      const kt = await timed(() => job(client.call('wipeVolume', { params: { pool: 'ext', volume: 'src.img' }, body: { algorithm: 'zero', force: true } })));
      const kAlloc = await blocks(path.join(pools.ext, 'src.img'));
      await makeSource(path.join(pools.ext, 'src.img'), 2 * GiB, GiB);
      const vt = libvirt ? await timed(() => libvirt.virsh('vol-wipe', 'src.img', '--pool', lv('ext'))) : undefined;
      const vAlloc = await blocks(path.join(pools.ext, 'src.img'));
      report({ operation: 'wipe (zero) 2 GiB raw (1 GiB written)', kvmpool: kt, ...(vt !== undefined ? { libvirt: vt } : {}), allocated: `${formatSize(kAlloc)}${libvirt ? ` / - / ${formatSize(vAlloc)}` : ''}` });
    }
    }
    if (only === undefined || only === 'rbd') rbd = await rbdRows(work, client, k, libvirt);
    if (only === undefined || only === 'scale') scale = await scaleRows(work, sizes, libvirt);
  } finally {
    if (libvirt) {
      for (const p of libvirtPools) {
        await libvirt.virsh('pool-destroy', p).catch(() => undefined);
        await libvirt.virsh('pool-undefine', p).catch(() => undefined);
      }
      await libvirt.stop();
    }
    await daemon.close();
    if (mounted) await run('umount', [xfs]);
    await rm(work, { recursive: true, force: true });
  }
  if (only === undefined || only === 'transfers') print(libvirt !== undefined, floor);
  if (rbd.length > 0) process.stdout.write(`\n${rbdTable(rbd).join('\n')}\n`);
  if (scale.length > 0) process.stdout.write(`\nScale: a dir pool of qcow2 volumes, the daemon in a process of its own, libvirt on the same directory.\n\n${scaleTable(scale).join('\n')}\n`);
  if (only === undefined || only === 'netfs') {
    process.stderr.write('network storage (in the test host)...\n');
    process.stdout.write(`\n${netfsTable(await netfsRows()).join('\n')}\n`);
  }
}

main().catch(async (e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exitCode = 1;
});
