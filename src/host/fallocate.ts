import { KvmpoolError } from '../model/errors.js';
import { run, type ExecOptions } from './exec.js';

/** fallocate(1) range operations kvmpool uses: free blocks (`punch`) or zero and keep them allocated (`zero`). */
export type FallocateMode = 'punch' | 'zero';

/** argv for `fallocate` on a byte range. `--punch-hole` keeps the file size. */
export function fallocateArgs(mode: FallocateMode, path: string, offset: number, length: number): string[] {
  return [mode === 'punch' ? '--punch-hole' : '--zero-range', '--offset', String(offset), '--length', String(length), path];
}

/**
 * Runs fallocate on a range. A file system without the operation gives NOT_SUPPORTED (stderr:
 * `fallocate: fallocate failed: Operation not supported`) so callers can fall back to writing.
 */
export async function fallocate(mode: FallocateMode, path: string, offset: number, length: number, options?: ExecOptions): Promise<void> {
  await run('fallocate', fallocateArgs(mode, path, offset, length), { timeoutMs: 600_000, ...options }).catch((e: unknown) => {
    if (e instanceof KvmpoolError && /not supported/i.test(String(e.details['stderr']))) {
      throw new KvmpoolError('NOT_SUPPORTED', `the file system cannot ${mode === 'punch' ? 'punch holes' : 'zero ranges'}`, { path }, { cause: e });
    }
    throw e;
  });
}
