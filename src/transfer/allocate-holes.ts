import { resolve } from 'node:path';
import { fallocate } from '../host/fallocate.js';
import { KvmpoolError } from '../model/errors.js';
import type { FileWriter } from './file-writer.js';
import { writeZeros } from './sparse-writer.js';

/**
 * Makes a file fully allocated up to `end` without changing what it reads as. fallocate's default mode
 * allocates only what is not yet allocated, as unwritten extents that read as zeros, so 1 GiB of holes
 * costs no 1 GiB of writes. Where the file system or host cannot do that, zeros are written into
 * `holes` (the ones writeSparse left; others stay as they are).
 */
export async function allocateHoles(out: FileWriter, path: string, end: number, holes: { offset: number; length: number }[]): Promise<void> {
  if (end === 0) return;
  try {
    await fallocate('allocate', resolve(path), 0, end);
  } catch (e) {
    if (!(e instanceof KvmpoolError) || (e.code !== 'NOT_SUPPORTED' && e.code !== 'HOST_TOOL_MISSING')) throw e;
    for (const h of holes) await writeZeros(out, h.offset, h.length);
    await out.sync();
  }
}
