import { readFile } from 'node:fs/promises';

/** This boot's id: tells a daemon restart (same id) from a host reboot (new id). */
export async function bootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
}
