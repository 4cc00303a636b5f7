import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { KvmpoolError } from '../model/errors.js';
import { dataHeader, endFrame, holeFrame, splitZeroRuns } from '../model/sparse-stream.js';
import { alignedBuffer, BLOCK, CHUNK, openDirect, releaseAligned } from './aligned.js';
import { ContentHash } from './hash.js';
import { absent, observedElsewhere } from '../model/ignore.js';

/** How many chunks a consumer of `readSparse` may still be writing out while it takes the next. */
export const PULL_WINDOW = 4;

/** Which file a path named when it was checked. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/** A range of a file that holds data (`data`) or is known to read as zeros. */
export interface Extent {
  start: number;
  length: number;
  data: boolean;
}

/**
 * Reads `[offset, offset + length)` of a file as sparse-stream frames: known holes (`extents`, e.g.
 * from SEEK_DATA/SEEK_HOLE through qemu-img map) are not read, and all-zero blocks of the data are
 * sent as holes too. Ends with the end frame, carrying the content's sha256 unless `hash` is false.
 * `onProgress` gets the bytes of content covered so far.
 */
export async function* readSparse(
  path: string,
  offset: number,
  length: number,
  options: { extents?: Extent[]; hash?: boolean; signal?: AbortSignal; onProgress?: (done: number) => void; expect?: FileIdentity } = {},
): AsyncGenerator<Buffer> {
  const end = offset + length;
  // Which buffer each yielded piece came from, by yield number: a buffer is reused only once the
  // consumer has taken PULL_WINDOW more chunks since its last piece (zero-only chunks pin nothing).
  let yields = 0;
  const lastYield = new Map<ArrayBufferLike, number>();
  const reader = await ChunkReader.open(path, (buf) => (lastYield.get(buf.buffer) ?? -Infinity) + PULL_WINDOW <= yields, options.expect);
  const hash = options.hash === false ? undefined : new ContentHash();
  let pendingHole: { offset: number; length: number } | undefined;
  const hole = (at: number, n: number) => {
    hash?.zeros(n);
    if (pendingHole && pendingHole.offset + pendingHole.length === at) pendingHole.length += n;
    else pendingHole = { offset: at, length: n };
  };
  let ok = false;
  try {
    const ranges = clip(options.extents ?? [{ start: offset, length, data: true }], offset, end);
    for (const chunk of reader.chunks(ranges)) {
      if (!chunk.data) {
        hole(chunk.start, chunk.length);
        continue;
      }
      if (options.signal?.aborted) throw new KvmpoolError('CANCELLED', 'cancelled');
      const buf = await chunk.read!();
      for (const run of splitZeroRuns(buf, chunk.start)) {
        if (run.zero) {
          hole(run.offset, run.length);
          continue;
        }
        if (pendingHole) {
          yields++;
          yield holeFrame(pendingHole.offset, pendingHole.length);
          pendingHole = undefined;
        }
        const piece = buf.subarray(run.offset - chunk.start, run.offset - chunk.start + run.length);
        await hash?.data(piece);
        yields++;
        yield dataHeader(run.offset, run.length);
        lastYield.set(piece.buffer, ++yields);
        yield piece;
      }
      options.onProgress?.(chunk.start + chunk.length - offset);
    }
    if (pendingHole) yield holeFrame(pendingHole.offset, pendingHole.length);
    options.onProgress?.(length);
    yield endFrame(end, await hash?.hex());
    ok = true;
  } finally {
    if (!ok) await hash?.close();
    await reader.close();
  }
}

/** One step of a read: a hole (nothing to read) or data, whose `read` resolves with its bytes. */
interface Chunk {
  start: number;
  length: number;
  data: boolean;
  read?: () => Promise<Buffer>;
}

/** Reads in flight ahead of the chunk being sent: a disk with a deeper queue reads faster. */
const READS_AHEAD = 3;
/** Read buffers per reader: READS_AHEAD being read, one being sent, and PULL_WINDOW being written out. */
const RING = PULL_WINDOW + 1 + READS_AHEAD;

/**
 * Reads a file's data ranges in CHUNK pieces with READS_AHEAD reads in flight, with O_DIRECT into
 * aligned buffers where the file system allows it (its page cache can be slow to fill) and ordinary
 * reads for unaligned pieces. A buffer is read into again only when `reusable` says the consumer is
 * done with it: however many chunks were read, only PULL_WINDOW buffers can hold pieces still being
 * written out.
 */
class ChunkReader {
  private constructor(
    private readonly fh: FileHandle,
    private readonly direct: FileHandle | undefined,
    private readonly bufs: Buffer[],
    private readonly reusable: (buf: Buffer) => boolean,
  ) {}

  /** Opens `path` (which must be the file `expect` names, when given: a path may be replaced meanwhile). */
  static async open(path: string, reusable: (buf: Buffer) => boolean, expect?: FileIdentity): Promise<ChunkReader> {
    // O_NONBLOCK: a FIFO put where a file was cannot hang the open (its reads then fail).
    const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const direct = await openDirect(path, constants.O_RDONLY | constants.O_NONBLOCK);
    for (const h of expect ? [fh, direct] : []) {
      const st = await h?.stat();
      if (st && (st.dev !== expect!.dev || st.ino !== expect!.ino)) {
        await Promise.all([fh.close(), direct?.close()]);
        throw new KvmpoolError('INVALID_ARGUMENT', `${path} was replaced while it was being read: refused`, { path });
      }
    }
    const bufs: (Buffer | undefined)[] = [];
    for (let i = 0; direct && i < RING; i++) bufs.push(await alignedBuffer(path).catch(absent));
    if (direct && bufs.every((b) => b !== undefined)) return new ChunkReader(fh, direct, bufs as Buffer[], reusable);
    releaseAligned(...bufs);
    await direct?.close();
    return new ChunkReader(fh, undefined, Array.from({ length: RING }, () => Buffer.allocUnsafe(CHUNK)), reusable);
  }

  /** The ranges cut into chunks; taking a data chunk keeps up to READS_AHEAD of the following ones being read. */
  *chunks(ranges: Extent[]): Generator<Chunk> {
    const pieces: { start: number; length: number; data: boolean }[] = [];
    for (const r of ranges) {
      if (!r.data) pieces.push(r);
      else for (let pos = r.start; pos < r.start + r.length; pos += CHUNK) pieces.push({ start: pos, length: Math.min(CHUNK, r.start + r.length - pos), data: true });
    }
    const data = pieces.flatMap((p, i) => (p.data ? [i] : []));
    /** Reads started, by piece index, and the buffers they (and the chunk being sent) hold. */
    const reads = new Map<number, Promise<Buffer>>();
    const held = new Map<number, Buffer>();
    let nextRead = 0; // position in `data` of the next piece to start reading
    let sending: number | undefined;
    const start = (i: number, required: boolean): boolean => {
      const buf = this.bufs.find((b) => ![...held.values()].includes(b) && this.reusable(b));
      if (!buf) {
        if (required) throw new KvmpoolError('INTERNAL', 'no read buffer is free: the consumer holds more chunks than PULL_WINDOW');
        return false;
      }
      held.set(i, buf);
      const read = this.readInto(buf, pieces[i]!.start, pieces[i]!.length);
      read.catch(observedElsewhere);
      reads.set(i, read);
      return true;
    };
    /** Starts reads of the following data pieces while buffers are free, up to READS_AHEAD. */
    const readAhead = () => {
      while (nextRead < data.length && reads.size < READS_AHEAD && start(data[nextRead]!, false)) nextRead++;
    };
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!;
      if (!p.data) {
        yield p;
        continue;
      }
      const read = async () => {
        if (!reads.has(i)) {
          start(i, true);
          nextRead = data.indexOf(i) + 1;
          readAhead();
        }
        const buf = await reads.get(i)!;
        reads.delete(i);
        // The chunk sent before this one is now the consumer's (`reusable` decides when it is free).
        if (sending !== undefined) held.delete(sending);
        sending = i;
        readAhead();
        return buf;
      };
      yield { ...p, read };
    }
  }

  /** Reads still filling a buffer. */
  private readonly pending = new Set<Promise<unknown>>();

  private async readInto(buf: Buffer, start: number, length: number): Promise<Buffer> {
    const read = this.readAt(buf, start, length);
    const settled = read.catch(observedElsewhere).finally(() => this.pending.delete(settled));
    this.pending.add(settled);
    return read;
  }

  private async readAt(buf: Buffer, start: number, length: number): Promise<Buffer> {
    const aligned = this.direct && start % BLOCK === 0 && length % BLOCK === 0;
    let done = 0;
    while (done < length) {
      // A device with 4 KiB sectors may refuse a buffer only 512-byte aligned: then read it normally.
      const { bytesRead } = await (aligned ? this.direct! : this.fh).read(buf, done, length - done, start + done).catch((e: NodeJS.ErrnoException) => {
        if (!aligned || e.code !== 'EINVAL') throw e;
        return this.fh.read(buf, done, length - done, start + done);
      });
      if (bytesRead === 0) throw new KvmpoolError('INTERNAL', `the file ended at ${start + done}, before ${start + length}`);
      done += bytesRead;
    }
    return buf.subarray(0, length);
  }

  async close(): Promise<void> {
    await Promise.all(this.pending); // reads ahead may still be filling buffers
    // The buffers are not given back for reuse: the consumer may still be writing the last pieces out.
    await this.direct?.close();
    await this.fh.close();
  }
}

/** Extents covering exactly [from, to): clipped to it, with gaps filled as data (read to be sure). */
export function clip(extents: Extent[], from: number, to: number): Extent[] {
  const out: Extent[] = [];
  let pos = from;
  for (const e of [...extents].sort((a, b) => a.start - b.start)) {
    const start = Math.max(e.start, pos);
    const stop = Math.min(e.start + e.length, to);
    if (stop <= start) continue;
    if (start > pos) out.push({ start: pos, length: start - pos, data: true });
    const last = out.at(-1);
    if (last && last.data === e.data && last.start + last.length === start) last.length += stop - start;
    else out.push({ start, length: stop - start, data: e.data });
    pos = stop;
  }
  if (pos < to) out.push({ start: pos, length: to - pos, data: true });
  return out;
}

/**
 * Data extents of a local file through qemu-img map (SEEK_DATA/SEEK_HOLE), or undefined where
 * qemu-img is not installed (the reader then finds zero runs by reading).
 */
export async function localExtents(path: string): Promise<Extent[] | undefined> {
  const { map } = await import('../host/qemu-img.js');
  return map(path, 'raw').then(
    (extents) => extents.map((e) => ({ start: e.start, length: e.length, data: e.data })),
    () => undefined,
  );
}
