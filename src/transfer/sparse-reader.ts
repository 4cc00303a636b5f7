import { open } from 'node:fs/promises';
import { KvmpoolError } from '../model/errors.js';
import { dataHeader, endFrame, holeFrame, splitZeroRuns } from '../model/sparse-stream.js';
import { ContentHash } from './hash.js';

/** Bytes read at a time. */
export const READ_CHUNK = 4 * 1024 * 1024;

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
  options: { extents?: Extent[]; hash?: boolean; signal?: AbortSignal; onProgress?: (done: number) => void } = {},
): AsyncGenerator<Buffer> {
  const end = offset + length;
  const hash = options.hash === false ? undefined : new ContentHash();
  const extents = clip(options.extents ?? [{ start: offset, length, data: true }], offset, end);
  const fh = await open(path, 'r');
  let pendingHole: { offset: number; length: number } | undefined;
  const hole = (at: number, n: number) => {
    hash?.zeros(n);
    if (pendingHole && pendingHole.offset + pendingHole.length === at) pendingHole.length += n;
    else pendingHole = { offset: at, length: n };
  };
  let ok = false;
  try {
    for (const e of extents) {
      if (!e.data) {
        hole(e.start, e.length);
        continue;
      }
      for (let pos = e.start; pos < e.start + e.length; ) {
        if (options.signal?.aborted) throw new KvmpoolError('CANCELLED', 'cancelled');
        const want = Math.min(READ_CHUNK, e.start + e.length - pos);
        // A fresh buffer per read: the pieces yielded may still be queued on a socket.
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(buf, 0, want, pos);
        if (bytesRead === 0) throw new KvmpoolError('INTERNAL', `${path} ended at ${pos}, before ${e.start + e.length}`);
        const chunk = buf.subarray(0, bytesRead);
        for (const run of splitZeroRuns(chunk, pos)) {
          if (run.zero) {
            hole(run.offset, run.length);
            continue;
          }
          if (pendingHole) {
            yield holeFrame(pendingHole.offset, pendingHole.length);
            pendingHole = undefined;
          }
          const piece = chunk.subarray(run.offset - pos, run.offset - pos + run.length);
          await hash?.data(piece);
          yield dataHeader(run.offset, run.length);
          yield piece;
        }
        pos += bytesRead;
        options.onProgress?.(pos - offset);
      }
    }
    if (pendingHole) yield holeFrame(pendingHole.offset, pendingHole.length);
    options.onProgress?.(length);
    yield endFrame(end, await hash?.hex());
    ok = true;
  } finally {
    if (!ok) await hash?.close();
    await fh.close();
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
