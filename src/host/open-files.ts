import { readdir, readlink, readFile } from 'node:fs/promises';

/** A process that holds a file open. */
export interface FileUser {
  pid: number;
  command: string;
}

/**
 * Lists processes that have `path` open, by reading /proc/PID/fd links. Processes we may not inspect
 * or that exit while we look are skipped; `path` must be absolute and symlink-free.
 */
export async function processesUsing(path: string): Promise<FileUser[]> {
  const users: FileUser[] = [];
  const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e));
  await Promise.all(
    pids.map(async (pid) => {
      let fds: string[];
      try {
        fds = await readdir(`/proc/${pid}/fd`);
      } catch {
        return;
      }
      for (const fd of fds) {
        const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
        if (target === path || target === `${path} (deleted)`) {
          const command = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
          users.push({ pid: Number(pid), command });
          return;
        }
      }
    }),
  );
  return users.sort((a, b) => a.pid - b.pid);
}
