import { createHash, randomFillSync } from 'node:crypto';
import { open } from 'node:fs/promises';
import { KvmpoolError } from '../model/errors.js';

/** Chunk size of kvmpool's own reads and writes of volume data. */
export const IO_CHUNK = 4 * 1024 * 1024;

const ZERO_CHUNK = Buffer.alloc(IO_CHUNK);

/** What to write over a range: zeros, or random bytes (then the sha256 of what was written is returned). */
export type FillPattern = 'zero' | 'random';

function cancelled(): KvmpoolError {
  return new KvmpoolError('CANCELLED', 'cancelled');
}

/**
 * Overwrites `length` bytes of `path` from `offset` with a pattern, syncs, and returns the sha256 of
 * the bytes written. Stops with CANCELLED when `signal` aborts.
 */
export async function fillRange(path: string, offset: number, length: number, pattern: FillPattern, signal: AbortSignal, progress: (done: number) => void): Promise<string> {
  const fh = await open(path, 'r+');
  const hash = createHash('sha256');
  const buf = Buffer.alloc(IO_CHUNK);
  try {
    for (let done = 0; done < length; ) {
      if (signal.aborted) throw cancelled();
      const n = Math.min(IO_CHUNK, length - done);
      const chunk = pattern === 'zero' ? ZERO_CHUNK.subarray(0, n) : randomFillSync(buf.subarray(0, n));
      hash.update(chunk);
      await fh.write(chunk, 0, n, offset + done);
      done += n;
      progress(done);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

/** Reads a range back: its sha256, and whether every byte was zero. */
export async function readRange(path: string, offset: number, length: number, signal: AbortSignal, progress: (done: number) => void): Promise<{ sha256: string; allZero: boolean }> {
  const fh = await open(path, 'r');
  const hash = createHash('sha256');
  const buf = Buffer.alloc(IO_CHUNK);
  let allZero = true;
  try {
    for (let done = 0; done < length; ) {
      if (signal.aborted) throw cancelled();
      const { bytesRead } = await fh.read(buf, 0, Math.min(IO_CHUNK, length - done), offset + done);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      hash.update(chunk);
      if (allZero && !chunk.equals(ZERO_CHUNK.subarray(0, bytesRead))) allZero = false;
      done += bytesRead;
      progress(done);
    }
  } finally {
    await fh.close();
  }
  return { sha256: hash.digest('hex'), allZero };
}
