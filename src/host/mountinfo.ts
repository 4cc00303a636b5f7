import { readFile } from 'node:fs/promises';
import { malformed } from './tool-output.js';

/**
 * The kernel's table of mounts (/proc/self/mountinfo), read without touching any mounted file system:
 * findmnt and stat resolve paths, which waits on a network server that went away; this never does.
 */

/** One mount of the table. */
export interface MountEntry {
  target: string;
  fstype: string;
  source: string;
  /** The mount's options (per mount point) and the file system's (per superblock), joined. */
  options: string[];
}

/**
 * Parses mountinfo. A line: `36 35 0:52 / /var/lib/kvmpool/nas rw,nodev,relatime shared:1 - nfs4
 * 10.0.0.1:/srv/vm rw,vers=4.2,...` (ID, parent, device, root, mount point, options, optional fields up
 * to `-`, type, source, super options); spaces, tabs, newlines and backslashes in paths come as octal
 * escapes (`\040`).
 */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (fields.length < 10 || dash < 0 || fields.length < dash + 4) throw malformed('/proc/self/mountinfo', 'a line that does not parse', line);
    entries.push({
      target: unescape(fields[4]!),
      fstype: fields[dash + 1]!,
      source: unescape(fields[dash + 2]!),
      options: [...fields[5]!.split(','), ...fields[dash + 3]!.split(',')],
    });
  }
  return entries;
}

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The mount whose mount point is exactly `target` (the last one: it hides those beneath), or undefined. */
export async function mountEntryAt(target: string): Promise<MountEntry | undefined> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8')).filter((m) => m.target === target).at(-1);
}
