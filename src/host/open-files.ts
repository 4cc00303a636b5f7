import { readdir, readFile, stat } from 'node:fs/promises';
import { absent, fallback } from '../model/ignore.js';

/** A process that holds a file open. */
export interface FileUser {
  pid: number;
  command: string;
}

/**
 * Lists processes that have `path` open, by comparing device and inode of each /proc/PID/fd entry
 * with the file's (so a path reached through a symlink, or a deleted file, still matches). Processes
 * we may not inspect or that exit while we look are skipped.
 */
export async function processesUsing(path: string): Promise<FileUser[]> {
  const target = await stat(path).catch(absent);
  if (!target) return [];
  const users: FileUser[] = [];
  const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid);
  await Promise.all(
    pids.map(async (pid) => {
      const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
      for (const fd of fds) {
        const st = await stat(`/proc/${pid}/fd/${fd}`).catch(absent);
        if (st && st.ino === target.ino && st.dev === target.dev) {
          const command = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(fallback('?'))).trim();
          users.push({ pid: Number(pid), command });
          return;
        }
      }
    }),
  );
  return users.sort((a, b) => a.pid - b.pid);
}

/**
 * Names of the taps some process has open (qemu holds its NICs' taps): each open /dev/net/tun names
 * its interface in /proc/PID/fdinfo/FD (`iff:`).
 */
export async function tapsInUse(): Promise<Set<string>> {
  const tun = await stat('/dev/net/tun').catch(absent);
  const names = new Set<string>();
  if (!tun) return names;
  const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e));
  await Promise.all(
    pids.map(async (pid) => {
      const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
      for (const fd of fds) {
        const st = await stat(`/proc/${pid}/fd/${fd}`).catch(absent);
        if (!st || st.rdev !== tun.rdev || !st.isCharacterDevice()) continue;
        const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(fallback(''));
        const m = /^iff:\s*(\S+)$/m.exec(info);
        if (m) names.add(m[1]!);
      }
    }),
  );
  return names;
}
