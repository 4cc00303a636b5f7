import { stat } from 'node:fs/promises';
import { errors } from '../model/errors.js';
import { HostCommandError, run } from './exec.js';
import { outputOf, type JsonObject, type OutputReader } from './tool-output.js';
import { absent } from '../model/ignore.js';

/** Mounts through findmnt, mount and umount: pure argv builders, a checked parser, one command per function. */

/** What is mounted at a directory. */
export interface MountInfo {
  source: string;
  target: string;
  fstype: string;
  options: string;
}

const COLUMNS = 'SOURCE,TARGET,FSTYPE,OPTIONS';
const TIMEOUT = 60_000;

/** argv for findmnt that lists the mount whose mount point is exactly `target`. */
export function mountAtArgs(target: string): string[] {
  return ['--json', '--mountpoint', target, '-o', COLUMNS];
}

/** argv for findmnt that lists the mounts of a block device (by device number: any name of it matches). */
export function mountsOfArgs(device: string): string[] {
  return ['--json', '--source', device, '-o', COLUMNS];
}

/** argv that mounts `device` at `target` with the file system `fstype` and `options`. */
export function mountArgs(device: string, target: string, fstype: string, options: readonly string[]): string[] {
  return ['-t', fstype, '-o', options.join(','), device, target];
}

/** argv that unmounts `target`. */
export function umountArgs(target: string): string[] {
  return [target];
}

/**
 * Parses `findmnt --json` (util-linux 2.38), flattening the tree it prints for submounts. Sample:
 * `{"filesystems": [{"source": "/dev/loop0", "target": "/mnt/a", "fstype": "ext4", "options":
 * "rw,relatime", "children": [{"source": "tmpfs", "target": "/mnt/a/sub", ...}]}]}`. Empty output
 * (findmnt found nothing: exit 1) is no mount.
 */
export function parseFindmnt(json: string): MountInfo[] {
  if (json.trim() === '') return [];
  const out = outputOf('findmnt', json);
  const top = out.object(out.json(), 'the listing');
  const found: MountInfo[] = [];
  walk(out, out.array(top['filesystems'], 'filesystems'), found);
  return found;
}

function walk(out: OutputReader, list: unknown[], found: MountInfo[]): void {
  for (const x of list) {
    const m: JsonObject = out.object(x, 'a mount');
    found.push({ source: out.string(m, 'source'), target: out.string(m, 'target'), fstype: out.string(m, 'fstype'), options: out.string(m, 'options') });
    if (m['children'] !== undefined) walk(out, out.array(m['children'], 'children'), found);
  }
}

/** findmnt's output, or '' when it found nothing (exit 1). */
async function findmnt(args: string[]): Promise<string> {
  return run('findmnt', args, { timeoutMs: TIMEOUT }).then(
    (r) => r.stdout,
    (e: unknown) => {
      if (e instanceof HostCommandError && e.details.exitCode === 1) return '';
      throw e;
    },
  );
}

/** The mount whose mount point is exactly `target`, or undefined. */
export async function mountAt(target: string): Promise<MountInfo | undefined> {
  return parseFindmnt(await findmnt(mountAtArgs(target))).at(-1);
}

/** Mounts of a block device (anywhere), found by device number so that any name of it matches. */
export async function mountsOf(device: string): Promise<MountInfo[]> {
  return parseFindmnt(await findmnt(mountsOfArgs(device)));
}

/** Mounts `device` at `target` with the file system `fstype` and `options`; INVALID_ARGUMENT when `target` is no directory. */
export async function mount(device: string, target: string, fstype: string, options: readonly string[]): Promise<void> {
  if (!(await stat(target).catch(absent))?.isDirectory()) throw errors.invalid(`mount point ${target} is not a directory`, { target });
  await run('mount', mountArgs(device, target, fstype, options), { timeoutMs: TIMEOUT });
}

/** Unmounts `target`; IN_USE when files on it are still open. */
export async function umount(target: string): Promise<void> {
  await run('umount', umountArgs(target), { timeoutMs: TIMEOUT }).catch((e: unknown) => {
    if (e instanceof HostCommandError && /target is busy|device is busy/.test(e.details.stderr)) throw errors.inUse(`${target} is busy: files on it are open`, { target });
    throw e;
  });
}
