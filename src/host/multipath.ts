import { stat } from 'node:fs/promises';
import { errors } from '../model/errors.js';
import { absent } from '../model/ignore.js';
import { HostCommandError, run } from './exec.js';
import { malformed } from './tool-output.js';

/**
 * dm-multipath maps made with dmsetup: one device over several paths to the same LUN, each map named
 * by its maker (no multipath.conf, no wwids file: nothing of the host's own multipath set-up changes).
 * Without queue_if_no_path: when every path is gone, I/O fails rather than hangs.
 */

const TIMEOUT = 30_000;

/** `major:minor` of a block device. */
export async function deviceNumber(device: string): Promise<string> {
  const st = await stat(device).catch(absent);
  if (!st?.isBlockDevice()) throw errors.notFound('block device', device);
  const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn) | Number((BigInt(st.rdev) >> 32n) & ~0xfffn);
  const minor = Number(BigInt(st.rdev) & 0xffn) | Number((BigInt(st.rdev) >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** The table of a map of `sectors` over `paths` (major:minor), round-robin in one path group. */
export function multipathTable(sectors: number, paths: readonly string[]): string {
  return `0 ${sectors} multipath 0 0 1 1 round-robin 0 ${paths.length} 1 ${paths.map((p) => `${p} 1000`).join(' ')}`;
}

/** A path of a map and whether the kernel uses it (A) or failed it (F). */
export interface MapPath {
  device: string;
  active: boolean;
}

/**
 * Parses `dmsetup status NAME` of a multipath map: `0 1048576 multipath 2 0 0 0 1 1 A 0 2 0 8:0 A 0 8:16
 * F 1` (features, hw handler, path groups: state, selector args, #paths, #path args, then each path
 * with its state A/F and fail count).
 */
export function parseMultipathStatus(text: string): MapPath[] {
  const t = text.trim().split(/\s+/);
  const fail = (why: string) => malformed('dmsetup', why, text);
  if (t[2] !== 'multipath') throw fail('not a multipath map');
  let i = 3;
  const skipCounted = () => {
    const n = Number(t[i]);
    if (!Number.isInteger(n)) throw fail('a count');
    i += 1 + n;
  };
  skipCounted(); // features
  skipCounted(); // hardware handler
  const groups = Number(t[i++]);
  i++; // the group in use
  const paths: MapPath[] = [];
  for (let g = 0; g < groups; g++) {
    i++; // group state
    skipCounted(); // selector status args
    const count = Number(t[i++]);
    const args = Number(t[i++]);
    if (!Number.isInteger(count) || !Number.isInteger(args)) throw fail('a path group');
    for (let p = 0; p < count; p++) {
      const device = t[i++];
      const state = t[i++];
      if (device === undefined || (state !== 'A' && state !== 'F')) throw fail('a path');
      paths.push({ device, active: state === 'A' });
      i += 1 + args; // fail count, then selector args
    }
  }
  return paths;
}

/**
 * Makes map `name` of `sectors` over `paths` (major:minor); its node is /dev/mapper/NAME (made by
 * dmsetup itself where no udev makes it: mknodes).
 */
export async function createMap(name: string, sectors: number, paths: readonly string[]): Promise<void> {
  await run('dmsetup', ['create', name, '--table', multipathTable(sectors, paths)], { timeoutMs: TIMEOUT });
  await run('dmsetup', ['mknodes', name], { timeoutMs: TIMEOUT });
}

/** Parses `dmsetup ls`: `kvmpool-san-lun-0\t(254:0)` (older: `(254, 0)`) per map, or `No devices found`. */
export function parseMapList(text: string): string[] {
  return text
    .split('\n')
    .map((l) => /^(\S+)\s+\(\d+(?::|, )\d+\)$/.exec(l.trim())?.[1])
    .filter((n): n is string => n !== undefined);
}

/** The names of the multipath maps there are. */
export async function multipathMaps(): Promise<string[]> {
  return parseMapList((await run('dmsetup', ['ls', '--target', 'multipath'], { timeoutMs: TIMEOUT })).stdout);
}

/** Whether a map of that name exists. */
export async function mapExists(name: string): Promise<boolean> {
  return run('dmsetup', ['info', name], { timeoutMs: TIMEOUT }).then(
    () => true,
    () => false,
  );
}

/** The paths of a map and their states. */
export async function mapPaths(name: string): Promise<MapPath[]> {
  return parseMultipathStatus((await run('dmsetup', ['status', name], { timeoutMs: TIMEOUT })).stdout);
}

/** Takes a failed path back into use (its device answers again). */
export async function reinstatePath(name: string, device: string): Promise<void> {
  await run('dmsetup', ['message', name, '0', `reinstate_path ${device}`], { timeoutMs: TIMEOUT });
}

/** Removes map `name` (none: nothing to do); IN_USE while something holds it open. */
export async function removeMap(name: string): Promise<void> {
  if (!(await mapExists(name))) return;
  await run('dmsetup', ['remove', name], { timeoutMs: TIMEOUT }).catch((e: unknown) => {
    if (e instanceof HostCommandError && /busy|in use/i.test(e.details.stderr)) throw errors.inUse(`multipath map ${name} is in use`, { map: name });
    throw e;
  });
  // Its node goes too where no udev removes it.
  await run('dmsetup', ['mknodes', name], { timeoutMs: TIMEOUT });
}
