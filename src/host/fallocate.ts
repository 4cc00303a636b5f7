import { KvmpoolError } from '../model/errors.js';
import { run, type ExecOptions } from './exec.js';

/**
 * fallocate(1) range operations kvmpool uses: free blocks (`punch`), zero and keep them allocated
 * (`zero`), or allocate the holes of the range, leaving its data as it is (`allocate`, mode 0).
 */
export type FallocateMode = 'punch' | 'zero' | 'allocate';

const FLAGS: Record<FallocateMode, string[]> = { punch: ['--punch-hole'], zero: ['--zero-range'], allocate: [] };
const DOING: Record<FallocateMode, string> = { punch: 'punch holes', zero: 'zero ranges', allocate: 'allocate space' };

/** argv for `fallocate` on a byte range. `--punch-hole` keeps the file size. */
export function fallocateArgs(mode: FallocateMode, path: string, offset: number, length: number): string[] {
  return [...FLAGS[mode], '--offset', String(offset), '--length', String(length), '--', path];
}

/**
 * Runs fallocate on a range. A file system without the operation gives NOT_SUPPORTED (stderr:
 * `fallocate: fallocate failed: Operation not supported`) so callers can fall back to writing.
 */
export async function fallocate(mode: FallocateMode, path: string, offset: number, length: number, options?: ExecOptions): Promise<void> {
  await run('fallocate', fallocateArgs(mode, path, offset, length), { timeoutMs: 600_000, ...options }).catch((e: unknown) => {
    if (e instanceof KvmpoolError && /No space left on device/i.test(String(e.details['stderr']))) {
      throw new KvmpoolError('NO_SPACE', `the file system is full: cannot ${DOING[mode]}`, { path }, { cause: e });
    }
    if (e instanceof KvmpoolError && /not supported/i.test(String(e.details['stderr']))) {
      throw new KvmpoolError('NOT_SUPPORTED', `the file system cannot ${DOING[mode]}`, { path }, { cause: e });
    }
    throw e;
  });
}
