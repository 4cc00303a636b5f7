import { lstat, link, open, readdir, realpath, stat, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { KvmpoolError, errors } from '../../../model/errors.js';
import { validateName } from '../../../model/names.js';
import { isInside } from '../../../model/paths.js';
import type { VolumeFacts, } from '../../../model/volume-types.js';
import { detectFormat, MAGIC_BYTES } from '../../../host/image-magic.js';
import { processesUsing } from '../../../host/open-files.js';
import * as qemuImg from '../../../host/qemu-img.js';
import { qcow2Layout, type Qcow2Layout } from '../../../host/qcow2-create.js';
import type { OpContext } from '../../../model/op-context.js';
import type { KnownVolume, VolumeScan, VolumeSpec } from '../driver.js';
import { dropReflinkSnapshots, reflinkSnapshotNames, reflinkSnapshotsByVolume, renameReflinkSnapshots } from './file-snapshots.js';
import { publishPart, VOLUME_MODE } from './file-part.js';
import { Reverter } from '../../../model/reverter.js';
import { mapConcurrent } from '../../../model/concurrency.js';
import { absent, fallback } from '../../../model/ignore.js';

/**
 * Volumes as image files in one directory: shared by the dir, fs and netfs pools, which differ only
 * in how the directory is made available. New volumes appear whole or not at all (file-part.ts).
 */

const PROGRESS_INTERVAL_MS = 250;

/** How many volumes a listing reads at once (each may start a qemu-img). */
const LIST_CONCURRENCY = 8;
/** How many files' status a listing asks for at once (libuv's threads answer them). */
const STAT_CONCURRENCY = 64;

/**
 * The volumes in `dir` by name (one readdir), read a slice at a time: formats recorded in `known` are
 * used as they are, never re-detected, and known facts are reused for files that did not change since
 * (only their allocation is re-read).
 */
export async function scanFileVolumes(dir: string): Promise<VolumeScan> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => !e.isDirectory() && isVolumeName(e.name)).map((e) => e.name);
  const snapshots = reflinkSnapshotsByVolume(entries.map((e) => e.name));
  return {
    names,
    async read(some, known) {
      // A file that vanished since readdir is simply gone; any other failure fails the listing, so no
      // volume is dropped because it could not be read this time. Status first, many at once (most
      // files did not change: that is all they need); then those that did, a few at a time.
      const gone = (e: unknown) => {
        if (e instanceof KvmpoolError && e.code === 'NOT_FOUND') return undefined;
        throw e;
      };
      const stats = await mapConcurrent(some, STAT_CONCURRENCY, (name) => statVolumeFile(fileIn(dir, name), name).catch(gone));
      const facts = await mapConcurrent(
        some.map((name, i) => ({ name, st: stats[i] })),
        LIST_CONCURRENCY,
        async ({ name, st }) => (st ? readFileVolume(dir, name, known.get(name), snapshots.get(name)?.length ?? 0, st).catch(gone) : undefined),
      );
      return facts.filter((f): f is VolumeFacts => f !== undefined);
    },
  };
}

/** Reads every volume in `dir` at once (see scanFileVolumes). */
export async function listFileVolumes(dir: string, known: ReadonlyMap<string, KnownVolume>): Promise<VolumeFacts[]> {
  const scan = await scanFileVolumes(dir);
  return scan.read(scan.names, known);
}

/** The path of entry `name` of the pool directory `dir` (a normalized absolute path; a volume name has no slash). */
function fileIn(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

/** A volume file's own status (a symlink is not followed); NOT_FOUND when it is gone. */
async function statVolumeFile(file: string, name: string): Promise<Stats> {
  try {
    return await lstat(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw errors.notFound('volume', name);
    throw e;
  }
}

/** Whether a directory entry's name can be a volume's. */
export function isVolumeName(name: string): boolean {
  try {
    validateName('volume', name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads one volume's facts. Only regular files are volumes; a symlink is listed as `unknown` and never
 * followed. The format comes from the store when kvmpool recorded it, else from the file's signature;
 * qemu-img always gets it explicitly. Files qemu-img cannot read are `unknown`.
 */
export async function readFileVolume(dir: string, name: string, known?: KnownVolume, reflinkSnapshots?: number, stats?: Stats): Promise<VolumeFacts> {
  const file = fileIn(dir, name);
  const st = stats ?? (await statVolumeFile(file, name));
  const base = { name, path: file, identity: `${st.dev}:${st.ino}`, allocation: st.blocks * 512, stamp: `${st.size}:${st.mtimeMs}:${st.ctimeMs}` };
  const was = known?.facts;
  if (was && known.identity === base.identity && was.stamp === base.stamp) {
    // Counting a raw volume's snapshot files reads the whole directory: other formats skip it.
    const snapshots = was.format === 'raw' ? (reflinkSnapshots ?? (await reflinkSnapshotNames(dir, name)).length) : undefined;
    // Nothing changed (the common case of a listing of many volumes): the known facts as they are, no copy.
    if (was.path === file && was.allocation === base.allocation && (snapshots === undefined || snapshots === (was.snapshots ?? 0))) return was;
    const same = { ...was, ...base };
    return snapshots === undefined ? same : withReflinkSnapshots(same, snapshots);
  }
  // A directory is never a volume (a listing leaves directories out).
  if (st.isDirectory()) throw errors.notFound('volume', name);
  if (!st.isFile()) {
    return { ...base, format: 'unknown', capacity: st.size, warnings: [st.isSymbolicLink() ? 'a symbolic link: not followed' : 'not a regular file'] };
  }
  const recorded = known && known.identity === base.identity && known.format !== 'unknown' ? known.format : undefined;
  const format = recorded ?? (await sniffFormat(file));
  // A raw file read as raw is its bytes: qemu-img info would only give back its size (rounded up to
  // 512 bytes), so opening it is the whole check.
  if (recorded === 'raw') {
    const readable = await open(file, 'r').then(
      async (fh) => (await fh.close(), true),
      () => false,
    );
    if (!readable) return { ...base, format, capacity: known?.facts?.capacity ?? st.size, unreadable: true, warnings: ['cannot open it'] };
    return withReflinkSnapshots({ ...base, format, capacity: st.size }, reflinkSnapshots ?? (await reflinkSnapshotNames(dir, name)).length);
  }
  let image: qemuImg.ImageInfo;
  try {
    image = await qemuImg.info(file, format);
  } catch (e) {
    if (e instanceof KvmpoolError && (e.code === 'HOST_TOOL_MISSING' || e.code === 'HOST_COMMAND_TIMEOUT')) throw e;
    const why = `qemu-img cannot read it as ${format}`;
    // A recorded format stays: one failed read must never turn a raw volume into a guessed format.
    if (recorded) return { ...base, format: recorded, capacity: known?.facts?.capacity ?? st.size, unreadable: true, warnings: [why] };
    return { ...base, format: 'unknown', capacity: st.size, warnings: [why] };
  }
  const facts: VolumeFacts = { ...base, format, capacity: format === 'raw' ? st.size : image.virtualSize };
  if (image.snapshots > 0) facts.snapshots = image.snapshots;
  if (format === 'raw') withReflinkSnapshots(facts, reflinkSnapshots ?? (await reflinkSnapshotNames(dir, name)).length);
  if (image.dataFile !== undefined) {
    // Its guest data lives in another file: reading or resizing it would touch that file.
    facts.backingOutsidePool = true;
    facts.warnings = [`external data file '${image.dataFile}': not followed`];
  }
  if (image.backingFilename !== undefined) {
    facts.backingFile = image.backingFilename;
    if (image.backingFormat !== undefined) facts.backingFormat = image.backingFormat;
    if (!(await backingInside(dir, image.backingFilename))) {
      facts.backingOutsidePool = true;
      facts.warnings = [`backing file '${image.backingFilename}' lies outside the pool: not followed`];
    } else {
      const volume = backingVolumeName(dir, image.backingFilename);
      if (volume !== undefined) facts.backingVolume = volume;
    }
  }
  return facts;
}

/** The volume of the pool a backing file names: a file directly in the pool's directory with a volume's name. */
function backingVolumeName(dir: string, backing: string): string | undefined {
  const resolved = path.resolve(dir, backing);
  const name = path.basename(resolved);
  return path.dirname(resolved) === path.resolve(dir) && isVolumeName(name) ? name : undefined;
}

/** Raw volumes count their reflink snapshots (qcow2 ones count internal snapshots from qemu-img). */
function withReflinkSnapshots(facts: VolumeFacts, count: number): VolumeFacts {
  if (facts.format !== 'raw') return facts;
  if (count > 0) facts.snapshots = count;
  else delete facts.snapshots;
  return facts;
}

async function sniffFormat(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(MAGIC_BYTES);
    const { bytesRead } = await fh.read(head, 0, MAGIC_BYTES, 0);
    return detectFormat(head.subarray(0, bytesRead));
  } catch {
    return 'unknown';
  } finally {
    await fh.close();
  }
}

/** True when a backing file name (absolute, or relative to the image's directory) stays inside `dir`. */
export async function backingInside(dir: string, backing: string): Promise<boolean> {
  if (/^[a-z][a-z0-9+.-]*:/i.test(backing) && !backing.startsWith('/')) return false; // protocol (nbd:, http:, json:)
  const realDir = await realpath(dir);
  const resolved = path.resolve(dir, backing);
  if (!isInside(resolved, dir) && !isInside(resolved, realDir)) return false;
  const real = await realpath(resolved).catch(fallback(resolved));
  return isInside(real, realDir) && real !== realDir;
}

/**
 * Creates a volume file. Preallocated creates report progress from the file's allocation and stop on
 * cancel; on any failure the partial file is removed and the target name was never visible.
 */
export async function createFileVolume(dir: string, spec: VolumeSpec, ctx: OpContext): Promise<VolumeFacts> {
  const writesData = spec.prealloc === 'full' || spec.prealloc === 'falloc';
  if (spec.prealloc === 'off') {
    const layout = spec.format === 'qcow2' ? qcow2Layout({ size: spec.capacity, clusterSize: spec.clusterSize ?? 65536, lazyRefcounts: spec.lazyRefcounts === true }) : undefined;
    // Sparse raw files and plain qcow2 images are written here: no process to start for them.
    if (spec.format === 'raw' || layout) {
      const file = await publishPart(dir, spec.name, ctx, (part) => writeEmptyImage(part, spec.capacity, layout));
      // An image written here: its facts are known, only its place on disk is read.
      const st = await lstat(file);
      return { name: spec.name, path: file, format: spec.format, capacity: spec.capacity, allocation: st.blocks * 512, identity: `${st.dev}:${st.ino}`, stamp: `${st.size}:${st.mtimeMs}:${st.ctimeMs}` };
    }
  }
  await publishPart(dir, spec.name, ctx, async (part) => {
    const poll = writesData ? watchAllocation(part, spec.capacity, ctx) : undefined;
    try {
      await qemuImg
        .create({ path: part, ...createSpecOf(spec) }, { signal: ctx.signal, timeoutMs: writesData ? 24 * 3600_000 : 60_000 })
        .catch((e: unknown) => {
          throw qemuImg.classify(e);
        });
    } finally {
      if (poll) clearInterval(poll);
    }
  });
  if (writesData) ctx.progress(spec.capacity, spec.capacity);
  return readOwnFileVolume(dir, spec.name, spec.format);
}

/** A sparse raw file of `size` bytes, or an empty qcow2 image laid out by `layout`. */
async function writeEmptyImage(file: string, size: number, layout: Qcow2Layout | undefined): Promise<void> {
  const fh = await open(file, 'wx', VOLUME_MODE);
  try {
    for (const w of layout?.writes ?? []) await fh.write(w.data, 0, w.data.length, w.offset);
    await fh.truncate(layout?.fileSize ?? size);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EFBIG') throw errors.invalid(`${size} bytes is more than the file system allows in one file`, { size });
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw new KvmpoolError('NO_SPACE', 'not enough space in the pool');
    throw e;
  } finally {
    await fh.close();
  }
}

/** Reads a volume whose format kvmpool knows (it just wrote the file): the format is never re-detected. */
export async function readOwnFileVolume(dir: string, name: string, format: string): Promise<VolumeFacts> {
  return readFileVolume(dir, name, { name, format, identity: await identityOf(path.join(dir, name)) });
}

function createSpecOf(spec: VolumeSpec): Omit<qemuImg.CreateSpec, 'path'> {
  const out: Omit<qemuImg.CreateSpec, 'path'> = { format: spec.format, size: spec.capacity, prealloc: spec.prealloc };
  if (spec.clusterSize !== undefined) out.clusterSize = spec.clusterSize;
  if (spec.lazyRefcounts !== undefined) out.lazyRefcounts = spec.lazyRefcounts;
  return out;
}

function watchAllocation(file: string, total: number, ctx: OpContext): NodeJS.Timeout {
  ctx.progress(0, total);
  const timer = setInterval(() => {
    stat(file)
      .then((st) => ctx.progress(Math.min(st.blocks * 512, total), total))
      .catch(absent);
  }, PROGRESS_INTERVAL_MS);
  timer.unref();
  return timer;
}

/** Deletes a volume file and its reflink snapshots. */
export async function deleteFileVolume(dir: string, vol: VolumeFacts): Promise<void> {
  await unlink(vol.path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  await dropReflinkSnapshots(dir, vol.name);
}

/** Resizes a volume with qemu-img; `shrink` must be set to make it smaller. */
export async function resizeFileVolume(dir: string, vol: VolumeFacts, capacity: number, shrink: boolean, ctx: OpContext): Promise<VolumeFacts> {
  await qemuImg.resize(vol.path, vol.format, capacity, shrink, { signal: ctx.signal }).catch((e: unknown) => {
    throw qemuImg.classify(e);
  });
  return readFileVolume(dir, vol.name, { name: vol.name, format: vol.format, identity: vol.identity });
}

/** Renames a volume file (and its reflink snapshots); never replaces an existing one. */
export async function renameFileVolume(dir: string, vol: VolumeFacts, newName: string, ctx: OpContext): Promise<VolumeFacts> {
  const target = path.join(dir, newName);
  await Reverter.run(ctx.log, async (r) => {
    await link(vol.path, target).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'EEXIST' ? errors.exists('volume', newName) : e;
    });
    r.add(`remove the new name ${target}`, () => unlink(target));
    await unlink(vol.path);
  });
  await renameReflinkSnapshots(dir, vol.name, newName);
  return readFileVolume(dir, newName, { name: newName, format: vol.format, identity: vol.identity });
}

/** Processes holding the volume's file open, as `command[pid]`. */
export async function fileVolumeUsers(vol: VolumeFacts): Promise<string[]> {
  const users = await processesUsing(vol.path);
  return users.map((u) => `${u.command}[${u.pid}]`);
}

/** Completes a rename cut between its link and unlink: when both names are the same file, the old one goes. */
export async function finishFileRename(dir: string, from: string, to: string): Promise<void> {
  const [a, b] = await Promise.all([lstat(path.join(dir, from)).catch(absent), lstat(path.join(dir, to)).catch(absent)]);
  if (a && b && a.dev === b.dev && a.ino === b.ino) {
    await unlink(path.join(dir, from));
    await renameReflinkSnapshots(dir, from, to);
  }
}

async function identityOf(file: string): Promise<string> {
  const st = await lstat(file);
  return `${st.dev}:${st.ino}`;
}
