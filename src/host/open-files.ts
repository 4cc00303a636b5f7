import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { absent, fallback } from '../model/ignore.js';

/** A process that holds a file open. */
export interface FileUser {
  pid: number;
  command: string;
}

/**
 * Lists processes that have `path` open, from the links in /proc/PID/fd: a file by the path the link
 * names (the kernel's own path of the open file, ` (deleted)` after it once removed); a device node also
 * by its device number, so another name of it (a by-path link, a /dev/mapper alias) matches. Open files
 * are never stat'ed through their links: one on a network file system whose server went away would
 * hold the caller until the server is back. Processes we may not inspect or that exit are skipped.
 */
export async function processesUsing(path: string): Promise<FileUser[]> {
  const device = path.startsWith('/dev/') ? await stat(path).catch(absent) : undefined;
  if (path.startsWith('/dev/') && !device) return [];
  const isDevice = device !== undefined && (device.isBlockDevice() || device.isCharacterDevice());
  const users: FileUser[] = [];
  const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid);
  await Promise.all(
    pids.map(async (pid) => {
      const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
      for (const fd of fds) {
        const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(absent);
        if (link === undefined) continue;
        let match = link === path || link === `${path} (deleted)`;
        if (!match && isDevice && link.startsWith('/dev/')) {
          const st = await stat(`/proc/${pid}/fd/${fd}`).catch(absent);
          match = st !== undefined && st.rdev === device.rdev && (st.isBlockDevice() || st.isCharacterDevice());
        }
        if (match) {
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
        // Only the tun device is stat'ed (see processesUsing).
        if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(absent)) !== '/dev/net/tun') continue;
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
