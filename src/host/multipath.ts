import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
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

/** `major:minor` of a block device (its node, followed through links, named in sysfs). */
export async function deviceNumber(device: string): Promise<string> {
  const real = await realpath(device).catch(absent);
  const dev = real ? await readFile(`/sys/class/block/${path.basename(real)}/dev`, 'utf8').catch(absent) : undefined;
  if (!dev) throw errors.notFound('block device', device);
  return dev.trim();
}

/**
 * What identifies the disk behind a device (the SCSI WWID, else the unit serial page), or undefined
 * when the device tells neither: two paths are one disk only if they say the same.
 */
export async function diskIdentity(device: string): Promise<string | undefined> {
  const real = await realpath(device).catch(absent);
  if (!real) return undefined;
  const dir = `/sys/class/block/${path.basename(real)}/device`;
  const wwid = (await readFile(`${dir}/wwid`, 'utf8').catch(absent))?.trim();
  if (wwid) return wwid;
  const serial = await readFile(`${dir}/vpd_pg80`).catch(absent);
  return serial && serial.length > 4 ? serial.subarray(4).toString('hex') : undefined;
}

/** Whether `device` (a link followed) is one of `nodes`. */
export async function sameNode(device: string, nodes: readonly string[]): Promise<boolean> {
  const real = await realpath(device).catch(absent);
  return real !== undefined && nodes.includes(real);
}

/** Whether `device` (a link followed) is the node of one of `maps`. */
export async function isMapNode(device: string, maps: readonly string[]): Promise<boolean> {
  const real = await realpath(device).catch(absent);
  if (!real) return false;
  for (const m of maps) if ((await realpath(`/dev/mapper/${m}`).catch(absent)) === real) return true;
  return false;
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
  return (await multipathMaps()).includes(name);
}

/** How many openers a map has (a VM, LVM, a copy). */
export async function mapOpenCount(name: string): Promise<number> {
  const { stdout } = await run('dmsetup', ['info', '-c', '--noheadings', '-o', 'open', name], { timeoutMs: TIMEOUT });
  const n = Number(stdout.trim());
  if (!Number.isInteger(n)) throw malformed('dmsetup', 'an open count', stdout);
  return n;
}

/** Gives map `name` a new table (other paths, a new size) without taking it down: reload, then resume. */
export async function reloadMap(name: string, sectors: number, paths: readonly string[]): Promise<void> {
  await run('dmsetup', ['reload', name, '--table', multipathTable(sectors, paths)], { timeoutMs: TIMEOUT });
  await run('dmsetup', ['resume', name], { timeoutMs: TIMEOUT });
}

/** The size in sectors and the paths (major:minor) of a map's table. */
export async function mapTable(name: string): Promise<{ sectors: number; paths: string[] }> {
  const { stdout } = await run('dmsetup', ['table', name], { timeoutMs: TIMEOUT });
  const t = stdout.trim().split(/\s+/);
  if (t[2] !== 'multipath') throw malformed('dmsetup', 'not a multipath table', stdout);
  return { sectors: Number(t[1]), paths: t.filter((x) => /^\d+:\d+$/.test(x)) };
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
  // --retry: udev may hold it open a moment after a change.
  await run('dmsetup', ['remove', '--retry', name], { timeoutMs: TIMEOUT }).catch((e: unknown) => {
    if (e instanceof HostCommandError && /busy|in use/i.test(e.details.stderr)) throw errors.inUse(`multipath map ${name} is in use`, { map: name });
    throw e;
  });
  // Its node goes too where no udev removes it.
  await run('dmsetup', ['mknodes', name], { timeoutMs: TIMEOUT });
}
