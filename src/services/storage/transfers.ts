import { constants } from 'node:fs';
import { lstat, open, realpath, rm, stat } from 'node:fs/promises';
import { reflinkFile } from '../../host/reflink.js';
import { digestFile, type Digest } from '../../transfer/digest.js';
import { basename, dirname, join } from 'node:path';
import { poolHolding } from './pool-definitions.js';
import { KvmpoolError, errors } from '../../model/errors.js';
import { isLocal, localPath } from '../../model/access.js';
import { detectFormat } from '../../host/image-magic.js';
import type { VolumeRef } from '../../model/names.js';
import type { JobInfo } from '../../model/job-types.js';
import type { FileDownload, SeenAs, VolumeInfo } from '../../model/volume-types.js';
import type { LocalStage, UploadStage, WriterStage } from '../../drivers/storage/driver.js';
import { localExtents, readSparse, type Extent, type FileIdentity } from '../../transfer/sparse-reader.js';
import { framesToFile } from '../../transfer/to-file.js';
import { allocateHoles } from '../../transfer/allocate-holes.js';
import { hostFileError } from '../../transfer/host-file.js';
import { writeSparse } from '../../transfer/sparse-writer.js';
import { FileWriter } from '../../transfer/file-writer.js';
import { Reverter } from '../../model/reverter.js';
import { announce } from '../operation.js';
import { volumeLock } from './volume-records.js';
import type { VolumeWork } from './volume-work.js';
import { absent, observedElsewhere } from '../../model/ignore.js';

/** A byte range of a volume: from `offset`, `length` bytes (to the end when omitted). */
export interface Range {
  offset?: number;
  length?: number;
}

/** A download ready to stream: what it covers, and the frames (the volume stays held until they end). */
export interface PreparedDownload {
  volume: VolumeInfo;
  offset: number;
  length: number;
  job: JobInfo;
  frames: AsyncGenerator<Buffer>;
  /** Registers what ends the stream when the job is cancelled (a receiver that stopped reading). */
  onCancel(fn: () => void): void;
}

/** What an upload may ask: a range written in place (`offset`), growing the volume, a foreign volume. */
export interface UploadOptions {
  offset?: number;
  grow?: boolean;
  force?: boolean;
}

/** A volume held for reading: its local path, data extents, and the range a download covers. */
interface HeldRead {
  volume: VolumeInfo;
  /** The local file or device, where the volume is one (a protocol volume is read by its driver). */
  source: string | undefined;
  /** Reads the range as sparse frames. */
  read(options: { signal?: AbortSignal; onProgress?: (done: number) => void }): AsyncGenerator<Buffer>;
  extents: Extent[];
  offset: number;
  length: number;
  /** Ends the hold (the volume given up, then its lock); once only, however often it is called. */
  release(): Promise<void>;
}

/** What an upload did. */
export interface UploadResult {
  volume: VolumeInfo;
  /** The content's sha256: always for a copy; for shared blocks only when asked (`verify`), as they are not read otherwise. */
  sha256?: string;
  /** Bytes of data received (holes not counted); for shared blocks, the data the file system holds. */
  dataBytes: number;
  end: number;
  /** The blocks of the host file were shared (a reflink), not copied. */
  shared: boolean;
  job: string;
}

/**
 * Volume content over streams in the sparse format (model/sparse-stream.ts): downloads skip holes and
 * zero runs; uploads are checked (format, size, backing file, checksum) before they replace anything.
 * Each transfer is a job (progress, cancel) and holds its volume for its whole length.
 */
export class TransferService {
  private readonly ctx;

  constructor(private readonly w: VolumeWork) {
    this.ctx = w.ctx;
  }

  /** Holds a volume for reading and finds what a download of `range` covers (call `release` in all cases). */
  private async holdForRead(ref: VolumeRef, range: Range, wait: boolean): Promise<HeldRead> {
    const { pool, volume: name } = ref;
    const p = await this.w.gate.active(pool);
    const leave = this.w.gate.enter(pool);
    let release = () => {};
    try {
      const lock = volumeLock(pool, name);
      release = wait ? await this.ctx.locks.acquire(lock, 'download') : this.ctx.locks.tryAcquire(lock, 'download', `volume ${pool}/${name}`);
      const vol = await this.w.read(p, name);
      this.w.rules.require(p, vol, 'download', false, false);
      const access = this.w.access(p, vol).access;
      const source = isLocal(access) ? access.path : undefined;
      const transfers = p.driver.transfers!;
      if (source === undefined && !transfers.read) localPath(access, 'download');
      const extents = await transfers.dataExtents(p.def, vol);
      const size = extents.reduce((end, e) => Math.max(end, e.start + e.length), 0);
      const offset = range.offset ?? 0;
      const length = range.length ?? size - offset;
      if (offset < 0 || length < 0 || offset + length > size) throw errors.invalid(`range ${offset}+${length} is outside the volume's ${size} bytes`, { offset, length, size });
      const giveUp = await this.w.claim(p, vol);
      let released: Promise<void> | undefined;
      return {
        volume: vol,
        source,
        read: (o) => (source !== undefined ? readSparse(source, offset, length, { extents, ...o }) : transfers.read!(p.def, vol, offset, length, o)),
        extents,
        offset,
        length,
        // The volume is given up before its lock: an operation after this one finds it as it left it.
        release: () =>
          (released ??= giveUp().finally(() => {
            release();
            leave();
          })),
      };
    } catch (e) {
      release();
      leave();
      throw e;
    }
  }

  /** Prepares a download of the volume's bytes (as stored: a qcow2 downloads as its qcow2 file). */
  async download(ref: VolumeRef, range: Range): Promise<PreparedDownload> {
    const { pool, volume: name } = ref;
    const held = await this.holdForRead(ref, range, true);
    const { offset, length } = held;
    const controller = new AbortController();
    let progress: (done: number) => void = () => {};
    let finished: (e?: unknown) => void = () => {};
    const job = runHeld(held, () =>
      this.ctx.jobs.run('volume.download', `${pool}/${name}`, (op) => {
        op.signal.addEventListener('abort', () => controller.abort(), { once: true });
        progress = (d) => op.progress(d, length);
        return new Promise<void>((resolve, reject) => {
          finished = (e) => (e ? reject(e) : resolve());
        });
      }),
    );
    const frames = async function* (this: TransferService) {
      // The job ends once the volume is let go of.
      try {
        yield* held.read({ signal: controller.signal, onProgress: (d) => progress(d) });
        await held.release();
        finished();
        this.ctx.log(`volume ${pool}/${name}: downloaded ${length} bytes from ${offset}`);
      } catch (e) {
        await held.release();
        finished(e);
        throw e;
      } finally {
        // A consumer that stops early (client gone) ends the job too.
        await held.release();
        finished(new KvmpoolError('CANCELLED', 'the download was not read to its end'));
      }
    }.call(this);
    return { volume: held.volume, offset, length, job, frames, onCancel: (fn) => controller.signal.addEventListener('abort', fn, { once: true }) };
  }

  /**
   * Downloads a volume into a file of this host, written by the daemon itself (a job whose result is a
   * FileDownload): no stream between processes. Only for a caller on this host (the API checks).
   */
  async downloadToFile(ref: VolumeRef, file: string, range: Range, o: { sparse: boolean; verify: boolean; seen?: SeenAs }): Promise<JobInfo> {
    const { pool, volume: name } = ref;
    const partial = range.offset !== undefined || range.length !== undefined;
    await FileWriter.checkTarget(file, !partial).catch(hostFileError(file));
    const dir = await realpath(dirname(file)).catch(hostFileError(dirname(file)));
    await assertSeen(dir, o.seen);
    // A volume is made by the pool's own operations, never written by a download (nor under its lock).
    const holder = poolHolding(this.ctx, join(dir, basename(file)));
    if (holder) throw errors.invalid(`${file} is inside the directory of pool '${holder.name}': download somewhere else, or use vol clone`, { file, pool: holder.name });
    // Another operation on the volume answers IN_USE at once: no request waits without a job to cancel.
    const held = await this.holdForRead(ref, range, false);
    const { source, extents, offset, length } = held;
    return runHeld(held, () =>
      this.ctx.jobs.run('volume.download', `${pool}/${name}`, async (op): Promise<FileDownload> => {
        const progress = { extents, signal: op.signal, onProgress: (d: number) => op.progress(d, length) };
        const frames = held.read(progress);
        try {
          const done = (w: { sha256?: string; dataBytes: number }, verified: boolean, shared: boolean): FileDownload => {
            this.ctx.log(`volume ${pool}/${name}: downloaded ${length} bytes from ${offset} into ${file}${shared ? ' (shared)' : ''}`);
            return { volume: `${pool}/${name}`, file, offset, length, format: held.volume.format, ...(w.sha256 !== undefined ? { sha256: w.sha256 } : {}), verified, dataBytes: w.dataBytes, shared };
          };
          // The whole volume into a new file of its own file system is shared, not copied; its blocks
          // are read only to verify them (both sides) when asked.
          if (!partial && source !== undefined && (await shareOut(source, file, op.signal))) {
            let digest: { sha256?: string; dataBytes: number } = { dataBytes: dataIn(extents, length) };
            // The file's own holes, read now: whatever was written into it since is read too.
            if (o.verify) digest = sameDigest(await digestFile(source, 0, length, progress), await digestFile(file, 0, length, { ...(await holesOf(file)), signal: op.signal }));
            op.progress(length, length);
            if (!o.sparse) await allocateAll(file, length, extents);
            return done(digest, o.verify, true);
          }
          const w = await framesToFile(file, frames, { start: offset, partial, sparse: o.sparse, verify: o.verify, signal: op.signal });
          return done({ sha256: w.sent!, dataBytes: w.dataBytes }, w.sha256 !== undefined, false);
        } finally {
          // The volume is read no more (reads ahead ended, file closed) before another operation may start.
          await frames.return(undefined);
          await held.release();
        }
      }),
    );
  }

  /**
   * Uploads a file of this host into a volume, read by the daemon itself (a job whose result is an
   * UploadResult), with every check of a streamed upload. Only for a caller on this host (the API checks).
   */
  async uploadFromFile(ref: VolumeRef, file: string, o: Range & { grow?: boolean; force?: boolean; verify?: boolean; seen?: SeenAs }): Promise<JobInfo> {
    // O_NONBLOCK: a FIFO cannot hang the open; the checks are made on what was opened.
    const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch(hostFileError(file));
    const info = await fh.stat().finally(() => fh.close());
    if (!info.isFile()) throw errors.invalid(`${file} is not a regular file: refused`, { file });
    await assertSeen(file, o.seen, info);
    const offset = o.offset ?? 0;
    const length = o.length ?? info.size - offset;
    if (offset + length > info.size) throw errors.invalid(`the range ends past the end of ${file} (${info.size} bytes)`, { file, size: info.size });
    const partial = o.offset !== undefined || o.length !== undefined;
    const extents = await localExtents(file);
    // Hashed on both sides only when asked: the writer's sha256 is the one reported. The reader
    // refuses a file that is no longer the one checked here.
    const frames = readSparse(file, offset, length, { ...(extents ? { extents } : {}), hash: o.verify === true, expect: { dev: info.dev, ino: info.ino } });
    const share = { file, identity: { dev: info.dev, ino: info.ino }, extents, verify: o.verify === true };
    const { job } = await this.startUpload(ref, frames, { ...(partial ? { offset } : {}), ...(o.grow ? { grow: true } : {}), ...(o.force ? { force: true } : {}) }, length, share);
    return job;
  }

  /**
   * Uploads sparse frames into a volume. Without a range the whole content is replaced: it is written
   * to a staged file, validated, and swapped in, so a failed or cancelled upload changes nothing. With
   * an `offset` (a partial or resumed transfer) a raw volume is written in place.
   */
  async upload(ref: VolumeRef, frames: AsyncIterable<Buffer>, options: UploadOptions): Promise<UploadResult> {
    const { job, done } = await this.startUpload(ref, frames, options);
    return { ...(await done), job: job.id };
  }

  /**
   * Starts an upload job; `total` (bytes of content, when known) is its progress's total. `share`: the
   * host file the frames read, which a whole upload may share instead (a reflink).
   */
  private async startUpload(ref: VolumeRef, frames: AsyncIterable<Buffer>, options: UploadOptions, total = 0, share?: HostFile): Promise<{ job: JobInfo; done: Promise<Omit<UploadResult, 'job'>> }> {
    const { pool, volume: name } = ref;
    const inPlace = options.offset !== undefined;
    return this.w.volumeJob(
      pool,
      name,
      'upload',
      { kind: 'volume.upload', target: `${pool}/${name}` },
      async (p, vol) => {
        this.w.rules.require(p, vol, 'upload', options.force === true, true);
        await this.w.rules.assertFree(p, vol);
        if (inPlace && vol.format !== 'raw') throw errors.notSupported(`partial uploads write in place, which only raw volumes allow (${pool}/${name} is ${vol.format})`);
        // A protocol volume (an RBD image) takes whole uploads, through its driver's stage.
        if (inPlace) localPath(this.w.access(p, vol).access, 'a partial upload');
      },
      async (p, vol, op) => {
        const transfers = p.driver.transfers!;
        const here = this.w.access(p, vol).access;
        return Reverter.run(op.log, async (r) => {
          const stage: UploadStage = inPlace && isLocal(here) ? { access: here, create: false, zeroHoles: true } : await transfers.stage(p.def, vol);
          if (!inPlace) r.add('discard the staged upload', () => transfers.discard(p.def, vol, stage));
          const local = 'access' in stage ? stage : undefined;
          const target = local?.access.path ?? `the staged upload of ${pool}/${name}`;
          const sparseOptions = (holes: 'skip' | 'zero') => ({
            start: options.offset ?? 0,
            holes,
            // A qcow2 file may exceed its capacity by its metadata; nothing may run on without bound.
            ...(!options.grow ? { limit: vol.format === 'raw' ? vol.capacity : vol.capacity * 2 + 1024 ** 3 } : {}),
            signal: op.signal,
            onProgress: (d: number) => op.progress(d, total),
            inspect: (offset: number, data: Buffer) => {
              if (offset === 0) checkFormat(vol, data);
            },
          });
          const copy = async (stage: LocalStage) => {
            const out = await FileWriter.open(target, stage.create);
            r.add(`close ${target}`, () => out.close());
            const written = await writeSparse(out, frames, sparseOptions(stage.zeroHoles ? 'zero' : 'skip'));
            await out.sync();
            if (inPlace && written.end > (await out.fh.stat()).size) await out.fh.truncate(written.end);
            await out.close();
            return { sha256: written.sha256!, dataBytes: written.dataBytes, end: written.end };
          };
          // A stage the driver writes itself (an RBD image) reads as zeros where nothing is written.
          const copyThrough = async (stage: WriterStage) => {
            const out = await stage.open(op.signal);
            r.add(`stop writing ${target}`, () => out.abort());
            const written = await writeSparse(out, frames, sparseOptions('skip'));
            await out.close();
            return { sha256: written.sha256!, dataBytes: written.dataBytes, end: written.end };
          };
          // A whole file of the host on the pool's own file system is shared, not copied; the commit
          // checks it as it checks a copy (format, capacity, a qcow2's backing file). Its blocks are
          // read only to verify them (both sides, only their data) when asked.
          const shared = share !== undefined && !inPlace && local?.create === true && (await shareInto(share, target, op.signal));
          // Both sides by their holes as they are now: whatever was written into either since is read too.
          const verifyShared = async (from: HostFile) => {
            const mine = await digestFile(target, 0, total, { ...(await holesOf(target)), signal: op.signal, onProgress: (d) => op.progress(d, total) });
            return sameDigest(await digestFile(from.file, 0, total, { ...(await holesOf(from.file)), signal: op.signal }), mine);
          };
          const notRead = () => {
            op.progress(total, total);
            return { dataBytes: dataIn(share?.extents, total), end: total };
          };
          const written: { sha256?: string; dataBytes: number; end: number } = shared ? (share.verify ? await verifyShared(share) : notRead()) : local ? await copy(local) : await copyThrough(stage as WriterStage);
          const facts = inPlace ? await p.driver.volumeInfo(p.def, { name, format: vol.format, identity: vol.identity }, name) : await transfers.commit(p.def, vol, stage, written.end, options.grow === true, op);
          const volume = this.w.update(p, vol, facts);
          const how = shared ? 'shared' : 'copied';
          announce(this.ctx, 'volume.uploaded', `${pool}/${name}`, `volume ${pool}/${name}: uploaded ${written.dataBytes} bytes of data (${how}${written.sha256 !== undefined ? `, sha256 ${written.sha256}` : ''})`, { ...(written.sha256 !== undefined ? { sha256: written.sha256 } : {}), end: written.end, shared });
          return { volume, ...(written.sha256 !== undefined ? { sha256: written.sha256 } : {}), dataBytes: written.dataBytes, end: written.end, shared };
        });
      },
    );
  }
}

/** A file of the host, as it was when checked, and where its data is; `verify`: its content is also read from it and compared. */
interface HostFile {
  file: string;
  identity: FileIdentity;
  extents: Extent[] | undefined;
  verify: boolean;
}

/** What was read of both sides; CHECKSUM_MISMATCH unless they hash the same. */
function sameDigest(sent: Digest, received: Digest): Digest {
  if (sent.sha256 !== received.sha256) throw new KvmpoolError('CHECKSUM_MISMATCH', `the content's sha256 is ${received.sha256}, the source's is ${sent.sha256}`, { received: received.sha256, sent: sent.sha256 });
  return received;
}

/** A file's extents, to read only its data (none where they cannot be found: then it is read whole). */
async function holesOf(file: string): Promise<{ extents?: Extent[] }> {
  const extents = await localExtents(file);
  return extents ? { extents } : {};
}

/** Bytes of data in `[0, end)` by a file's extents (all of it when they are unknown). */
function dataIn(extents: readonly Extent[] | undefined, end: number): number {
  if (!extents) return end;
  return extents.reduce((n, e) => (e.data ? n + Math.max(0, Math.min(e.start + e.length, end) - e.start) : n), 0);
}

/**
 * Makes a new file at `target` share the blocks of the file at `source` (which must be the file
 * `expect` names, when given), where one file system holds both and can; false where it cannot, and
 * then no target is left. The target is created here, exclusively, 0600, never through a link put
 * there, and synced.
 */
async function shareBlocks(source: string, target: string, expect: FileIdentity | undefined, signal: AbortSignal): Promise<boolean> {
  const src = await open(source, constants.O_RDONLY | constants.O_NONBLOCK).catch(hostFileError(source));
  try {
    const st = await src.stat();
    if (expect && (st.dev !== expect.dev || st.ino !== expect.ino)) throw errors.invalid(`${source} was replaced while it was being read: refused`, { file: source });
    const dst = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600).catch(hostFileError(target));
    const made = await dst.stat();
    let shared = false;
    try {
      if (await reflinkFile(src, dst, signal)) {
        await dst.sync();
        shared = true;
      }
    } finally {
      await dst.close();
      // Only the file made here is removed: whatever may have been put at its name since stays.
      const there = shared ? undefined : await lstat(target).catch(absent);
      if (there && there.dev === made.dev && there.ino === made.ino) await rm(target, { force: true });
    }
    // A cancel ends the job: it does not fall back to a copy.
    if (!shared) signal.throwIfAborted();
    return shared;
  } finally {
    await src.close();
  }
}

/** Makes the staged file of an upload share a host file's blocks, where the file system can. */
async function shareInto(share: HostFile, target: string, signal: AbortSignal): Promise<boolean> {
  await rm(target, { force: true });
  return shareBlocks(share.file, target, share.identity, signal);
}

/** Makes a new file at `target` (a file or symlink there is replaced) share a volume's blocks, where the file system can. */
async function shareOut(source: string, target: string, signal: AbortSignal): Promise<boolean> {
  await FileWriter.checkTarget(target, true).catch(hostFileError(target));
  await rm(target, { force: true });
  return shareBlocks(source, target, undefined, signal);
}

/** Allocates the holes of a file shared from a volume (a download that is not sparse), as a copied one is. */
async function allocateAll(file: string, end: number, extents: readonly Extent[]): Promise<void> {
  const out = await FileWriter.open(file, false, { regularFile: true });
  try {
    await allocateHoles(out, file, end, extents.filter((e) => !e.data).map((e) => ({ offset: e.start, length: e.length })));
  } finally {
    await out.close();
  }
}

/** Starts a job on a held volume; the hold is given back when the job cannot even start. */
function runHeld<T>(held: HeldRead, start: () => { job: JobInfo; done: Promise<T> }): JobInfo {
  try {
    const { job, done } = start();
    done.catch(observedElsewhere);
    return job;
  } catch (e) {
    void held.release();
    throw e;
  }
}

/**
 * FORBIDDEN when the caller saw another file at `path` than the daemon does (another mount namespace:
 * a container, a private /tmp): the caller then streams the content instead.
 */
async function assertSeen(path: string, seen: SeenAs | undefined, info?: { dev: number; ino: number }): Promise<void> {
  if (!seen) return;
  const mine = info ?? (await stat(path));
  if (String(mine.dev) !== seen.dev || String(mine.ino) !== seen.ino) {
    throw new KvmpoolError('FORBIDDEN', `the daemon sees another file at ${path} than the caller does (another mount namespace): stream the content instead`, { file: path });
  }
}

/**
 * The content's leading bytes must announce the volume's format: a qcow2 header uploaded into a raw
 * volume (or raw bytes into a qcow2 one) is refused before anything is written.
 */
function checkFormat(vol: VolumeInfo, head: Buffer): void {
  const detected = detectFormat(head);
  if (detected !== vol.format) {
    throw new KvmpoolError('INVALID_ARGUMENT', `the upload is a ${detected} image but ${vol.pool}/${vol.name} is ${vol.format}`, { detected, format: vol.format });
  }
}
