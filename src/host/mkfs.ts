import { errors } from '../model/errors.js';
import { run } from './exec.js';

/** File systems kvmpool makes (for fs pools). */
export const FS_FORMATS = ['ext4', 'xfs', 'btrfs'] as const;
export type FsFormat = (typeof FS_FORMATS)[number];

/** The smallest device each file system's mkfs accepts (xfs: 300 MB; btrfs: its own minimum). */
const MIN_FS_SIZE: Record<FsFormat, number> = {
  ext4: 8 * 1024 ** 2,
  xfs: 300 * 1024 ** 2,
  btrfs: 114_294_784,
};

/** INVALID_ARGUMENT when a device of `size` bytes is too small for the file system. */
export function assertFitsFileSystem(device: string, format: FsFormat, size: number): void {
  if (size < MIN_FS_SIZE[format]) {
    throw errors.invalid(`device ${device} is too small for ${format}: ${size} bytes, at least ${MIN_FS_SIZE[format]} needed`, { device, size, minimum: MIN_FS_SIZE[format] });
  }
}

/**
 * Makes a file system on a device the caller has checked is free, empty and large enough: ext4, xfs
 * with reflink (instant clones), or btrfs. Discard at mkfs time is skipped (slow on large thin devices).
 */
export async function makeFileSystem(device: string, format: FsFormat): Promise<void> {
  const argv: Record<FsFormat, [string, string[]]> = {
    ext4: ['mkfs.ext4', ['-q', '-F', '-E', 'nodiscard', device]],
    xfs: ['mkfs.xfs', ['-q', '-f', '-K', '-m', 'reflink=1', device]],
    btrfs: ['mkfs.btrfs', ['-q', '-f', '-K', device]],
  };
  const [tool, args] = argv[format];
  await run(tool, args, { timeoutMs: 10 * 60_000 });
}
