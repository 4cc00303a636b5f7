import { statfs } from 'node:fs/promises';

/** Size, used and available bytes of the file system holding `path`. */
export interface FsUsage {
  capacity: number;
  allocation: number;
  available: number;
}

/** Reads file-system usage like libvirt does: allocation = total - free, available = free to non-root. */
export async function fsUsage(path: string): Promise<FsUsage> {
  const s = await statfs(path);
  const capacity = s.blocks * s.bsize;
  return { capacity, allocation: capacity - s.bfree * s.bsize, available: s.bavail * s.bsize };
}
