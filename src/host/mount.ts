import { stat } from 'node:fs/promises';
import { errors } from '../model/errors.js';
import { HostCommandError, run } from './exec.js';

/** What is mounted at a directory. */
export interface MountInfo {
  source: string;
  target: string;
  fstype: string;
  options: string;
}

/** The mount whose mount point is exactly `target`, or undefined. */
export async function mountAt(target: string): Promise<MountInfo | undefined> {
  // findmnt exits 1 when nothing is mounted there.
  const out = await run('findmnt', ['--json', '--mountpoint', target, '-o', 'SOURCE,TARGET,FSTYPE,OPTIONS']).then(
    (r) => r.stdout,
    (e: unknown) => {
      if (e instanceof HostCommandError && e.details.exitCode === 1) return '';
      throw e;
    },
  );
  return parseFindmnt(out).at(-1);
}

/** Mounts of a block device (anywhere), found by device number so that any name of it matches. */
export async function mountsOf(device: string): Promise<MountInfo[]> {
  const out = await run('findmnt', ['--json', '--source', device, '-o', 'SOURCE,TARGET,FSTYPE,OPTIONS']).then(
    (r) => r.stdout,
    (e: unknown) => {
      if (e instanceof HostCommandError && e.details.exitCode === 1) return '';
      throw e;
    },
  );
  return parseFindmnt(out);
}

/** Parses `findmnt --json`. */
function parseFindmnt(json: string): MountInfo[] {
  if (json.trim() === '') return [];
  const parsed = JSON.parse(json) as { filesystems?: MountInfo[] };
  const out: MountInfo[] = [];
  const walk = (list: (MountInfo & { children?: MountInfo[] })[]) => {
    for (const m of list) {
      out.push({ source: m.source, target: m.target, fstype: m.fstype, options: m.options });
      if (m.children) walk(m.children);
    }
  };
  walk(parsed.filesystems ?? []);
  return out;
}

/** Mounts `device` at `target` with the file system `fstype` and `options`. */
export async function mount(device: string, target: string, fstype: string, options: string[]): Promise<void> {
  if (!(await stat(target).catch(() => undefined))?.isDirectory()) throw errors.invalid(`mount point ${target} is not a directory`, { target });
  await run('mount', ['-t', fstype, '-o', options.join(','), device, target]);
}

/** Unmounts `target`; IN_USE when files on it are still open. */
export async function umount(target: string): Promise<void> {
  await run('umount', [target]).catch((e: unknown) => {
    if (e instanceof HostCommandError && /target is busy|device is busy/.test(e.details.stderr)) throw errors.inUse(`${target} is busy: files on it are open`, { target });
    throw e;
  });
}
