import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { hostFileError } from './host-file.js';
import { FileWriter } from './file-writer.js';
import { writeSparse, type WriteResult } from './sparse-writer.js';
import { allocateHoles } from './allocate-holes.js';

/** How a download lands in a file. */
export interface ToFileOptions {
  /** Where the frames start (the download's offset). */
  start: number;
  /** A range: written into the file at its own offsets (the file may exist); else the file is new. */
  partial: boolean;
  /** Leave holes as holes; else the whole file ends up allocated. */
  sparse: boolean;
  /** Hash what arrives and check it against the sender's sha256. */
  verify: boolean;
  signal?: AbortSignal;
  onProgress?: (done: number) => void;
}

/** Opens a download's target: a new file, or for a range the regular file there (made when missing). */
async function openTarget(file: string, partial: boolean): Promise<FileWriter> {
  await FileWriter.checkTarget(file, !partial);
  // Never waits, never follows a symlink: a FIFO or link put there meanwhile is refused by the open.
  if (partial) await (await open(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600)).close();
  return FileWriter.open(file, !partial, { regularFile: true });
}

/**
 * Writes a download's sparse frames into a file: a new file (replacing a file or symlink there) or, for a
 * range, the existing file at the range's offsets, so a resumed download completes the same file. Only a
 * regular file is ever written; the data is synced before this returns.
 */
export async function framesToFile(file: string, frames: AsyncIterable<Buffer>, o: ToFileOptions): Promise<WriteResult> {
  const writer = await openTarget(file, o.partial).catch(hostFileError(file));
  try {
    // A range may land on old content, whose holes must become zeros; a new file's holes are left as
    // they are, and allocated afterwards unless sparse.
    const written = await writeSparse(writer, frames, {
      start: o.start,
      holes: o.partial ? 'zero' : 'skip',
      recordHoles: !o.partial && !o.sparse,
      hash: o.verify,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    await writer.sync();
    // A new file ends where the content ends; a range may end inside a longer file.
    const size = (await writer.fh.stat()).size;
    const end = o.partial ? Math.max(size, written.end) : written.end;
    if (size < end) await writer.fh.truncate(end);
    // Without sparse the whole file ends up allocated, also the holes an earlier, cut-off download of
    // it left before this range.
    if (!o.sparse && (o.partial || written.holes.length > 0)) await allocateHoles(writer, file, end, written.holes);
    return written;
  } finally {
    await writer.close();
  }
}
