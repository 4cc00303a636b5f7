import type { FileHandle } from 'node:fs/promises';
import { run } from './exec.js';

/**
 * Makes the file open as `target` (new and empty) share the blocks of the file open as `source` (a
 * reflink: instant, no data copied), where both lie on one file system that can (xfs with reflink,
 * btrfs); false where it cannot, or on any other failure: the caller then copies. cp(1) does it, in a
 * process of its own with a time limit. Quirk: it is given this process's descriptors as
 * /proc/PID/fd/N paths, which open exactly the files already opened and checked here, whatever has
 * been put at their names since.
 */
export async function reflinkFile(source: FileHandle, target: FileHandle, signal?: AbortSignal): Promise<boolean> {
  const fd = (h: FileHandle) => `/proc/${process.pid}/fd/${h.fd}`;
  return run('cp', ['--reflink=always', '-T', '--', fd(source), fd(target)], { timeoutMs: 60_000, ...(signal ? { signal } : {}) }).then(
    () => true,
    () => false,
  );
}
