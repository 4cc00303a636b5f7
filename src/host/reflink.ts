import { run } from './exec.js';

/**
 * Makes `target` (which must not exist) share `source`'s blocks (a reflink: instant, no data copied),
 * where both lie on one file system that can (xfs with reflink, btrfs); false where it cannot, or on
 * any other failure: the caller then copies. cp(1) does it, in a process of its own and with a time
 * limit, so that a source swapped for a FIFO cannot hang the daemon; it creates the target exclusively
 * (never through a symlink put there).
 */
export async function reflinkFile(source: string, target: string): Promise<boolean> {
  return run('cp', ['--reflink=always', '--', source, target], { timeoutMs: 60_000 }).then(
    () => true,
    () => false,
  );
}
