import { open, stat } from 'node:fs/promises';
import { absent } from '../../model/ignore.js';

/**
 * A VM's logs, its serial console and qemu's own output: qemu appends to them (O_APPEND: `append=on`
 * for the console, the flags of the file qemu's stderr is), kvmpool reads the console from an offset and
 * keeps both bounded, so neither a guest that floods its console nor a chatty qemu fills the daemon's home.
 */

/** At most this much is returned per read. */
const READ_MAX = 1024 * 1024;

/** Reads from byte `offset` on; an offset past the end (the log was cut since) starts over at 0. */
export async function readLog(file: string, offset: number): Promise<{ data: string; offset: number }> {
  const fh = await open(file, 'r').catch(absent);
  if (!fh) return { data: '', offset };
  try {
    const size = (await fh.stat()).size;
    const from = offset > size ? 0 : offset;
    const buf = Buffer.alloc(Math.min(READ_MAX, size - from));
    const { bytesRead } = await fh.read(buf, 0, buf.length, from);
    return { data: buf.subarray(0, bytesRead).toString('utf8'), offset: from + bytesRead };
  } finally {
    await fh.close();
  }
}

/**
 * Cuts the log down to its last `keep` bytes once it is over `limit`. The file stays the same (qemu
 * holds it open); what qemu appends while the cut runs lands before the kept tail, never lost.
 */
export async function trimLog(file: string, limit: number, keep: number): Promise<boolean> {
  const size = (await stat(file).catch(absent))?.size ?? 0;
  if (size <= limit) return false;
  const fh = await open(file, 'a+');
  try {
    const tail = Buffer.alloc(Math.min(keep, size));
    await fh.read(tail, 0, tail.length, size - tail.length);
    await fh.truncate(0);
    await fh.write(tail);
    return true;
  } finally {
    await fh.close();
  }
}
