import { constants } from 'node:fs';
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { absent } from '../model/ignore.js';

/** Alignment O_DIRECT needs of file offsets, lengths and memory. */
export const BLOCK = 4096;
/** Size of every aligned buffer: reads and writes move this much at a time. */
export const CHUNK = 4 * 1024 * 1024;

/** Aligned buffers no longer in use, for the next transfer (alignment is found once per buffer). */
const spare: Buffer[] = [];

/**
 * Finds a CHUNK-byte view of a fresh buffer whose memory is BLOCK-aligned, by trying one 4 KiB
 * O_DIRECT transfer at successive 16-byte shifts. Quirk: Node cannot ask for aligned memory, its
 * large buffers come from malloc (16-byte aligned), and O_DIRECT refuses misaligned memory with
 * EINVAL, so the first shift the kernel accepts is the aligned one. `attempt` does the transfer.
 */
async function probe(attempt: (view: Buffer) => Promise<unknown>): Promise<Buffer | undefined> {
  const raw = Buffer.allocUnsafeSlow(CHUNK + BLOCK);
  raw.fill(0, 0, 2 * BLOCK);
  for (let shift = 0; shift < BLOCK; shift += 16) {
    const view = raw.subarray(shift, shift + CHUNK);
    try {
      await attempt(view);
      return view;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') return undefined;
    }
  }
  return undefined;
}

/**
 * An aligned buffer, probed by writing to a scratch file next to `path` (removed at once). A write is
 * the probe because a read of a hole or past the end may succeed with misaligned memory. On a block
 * device (an LV, a partition), a read of its first block is the probe: nothing is created next to it.
 */
export async function alignedBuffer(path: string): Promise<Buffer | undefined> {
  const ready = spare.pop();
  if (ready) return ready;
  if ((await stat(path).catch(absent))?.isBlockDevice()) {
    const dev = await open(path, constants.O_RDONLY | constants.O_DIRECT).catch(absent);
    if (!dev) return undefined;
    try {
      return await probe((view) => dev.read(view, 0, BLOCK, 0));
    } finally {
      await dev.close();
    }
  }
  // Hidden, so that a listing of a pool directory never mistakes it for a volume.
  const scratch = join(dirname(path), `.${basename(path)}.kvmpool-probe`);
  await rm(scratch, { force: true });
  const fh = await open(scratch, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT, 0o600).catch(absent);
  if (!fh) return undefined;
  try {
    return await probe((view) => fh.write(view, 0, BLOCK, 0));
  } finally {
    await fh.close();
    await rm(scratch, { force: true });
  }
}

/** Gives aligned buffers back for reuse. */
export function releaseAligned(...buffers: (Buffer | undefined)[]): void {
  for (const b of buffers) if (b && b.length === CHUNK) spare.push(b);
}

/** Opens `path` with O_DIRECT (and `flags`), or undefined where the file system does not allow it. */
export function openDirect(path: string, flags: number): Promise<FileHandle | undefined> {
  return open(path, flags | constants.O_DIRECT).catch(absent);
}
