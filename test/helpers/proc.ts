import { readdir, stat } from 'node:fs/promises';

/**
 * Waits until process `pid` holds `file` open (a file or a device node, matched by what it is, not by
 * its path); fails after `timeoutMs`.
 */
export async function waitHoldsOpen(pid: number, file: string, timeoutMs = 30_000): Promise<void> {
  const want = await stat(file);
  const same = (s: { dev: number; ino: number; rdev: number }) => (want.rdev !== 0 ? s.rdev === want.rdev : s.dev === want.dev && s.ino === want.ino);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
      const s = await stat(`/proc/${pid}/fd/${fd}`).catch(() => undefined);
      if (s && same(s)) return;
    }
    if (Date.now() > deadline) throw new Error(`process ${pid} never held ${file} open`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
