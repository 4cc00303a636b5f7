import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { QEMU } from './qemu-system.js';
import { fallback } from '../model/ignore.js';

/** How a qemu process ended: its exit code, or the signal that ended it. */
export interface QemuExit {
  code: number | null;
  signal: string | null;
}

/** A qemu process this daemon started. */
export interface SpawnedQemu {
  /** Undefined when it could not start at all (`exited` then says how). */
  pid: number | undefined;
  /** Resolves when it is gone. */
  exited: Promise<QemuExit>;
}

/**
 * Starts qemu in a session of its own (it outlives the daemon) with its output appended to `logFile`
 * (O_APPEND: its writes always land at the end, so the log can be cut while it runs).
 */
export async function spawnQemu(args: readonly string[], logFile: string): Promise<SpawnedQemu> {
  const log = await open(logFile, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND, 0o600);
  let child;
  try {
    child = spawn(QEMU, args, { detached: true, stdio: ['ignore', log.fd, log.fd] });
  } finally {
    await log.close();
  }
  child.unref();
  const exited = new Promise<QemuExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  return { pid: child.pid, exited };
}

/** Alive and not a zombie. */
export async function isAlive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(fallback(''));
  return stat !== '' && !/^\d+ \(.*\) Z/.test(stat);
}

/** Whether `pid` is a live qemu of the VM with `uuid` (its uuid is on its command line). */
export async function isQemuOf(pid: number, uuid: string): Promise<boolean> {
  if (!(await isAlive(pid))) return false;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(fallback(''));
  return cmdline.split('\0').includes(uuid);
}

/** Sends SIGKILL to `pid`; a process gone meanwhile is fine. */
export function killProcess(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}

/** The last lines qemu wrote to its log (its errors), without timestamps. */
export async function qemuLogTail(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(fallback(''));
  return text.trim().split('\n').slice(-3).map((l) => l.replace(/^\S+ qemu-system-x86_64: /, '').replace(/^qemu-system-x86_64: /, '')).join(' | ');
}
