import { KvmpoolError, errors } from '../model/errors.js';
import { HostCommandError, run, type ExecOptions } from './exec.js';
import { LV_FIELDS, parseLockOffset, parseLvs, parsePvmoveProgress, parsePvs, parseVgs, PV_FIELDS, VG_FIELDS, type LvInfo, type PvInfo, type VgInfo } from './lvm-report.js';

/**
 * LVM through argv commands and its JSON reports (`--reportformat json`, sizes in bytes, parsed in
 * lvm-report.ts): pure argv builders (`*Args`) and functions that each run one `lvm` command.
 * Commands answer prompts with --yes only where the caller already decided (removal, wiping); a
 * prompt otherwise fails (stdin is closed). Steps that belong together (a PV and its VG, a pvmove and
 * its abort) are composed by the logical pool driver.
 */

/** What the reports say (parsed in lvm-report.ts). */
export type { LvInfo, PvInfo, VgInfo } from './lvm-report.js';

const REPORT = ['--reportformat', 'json', '--units', 'b', '--nosuffix'];
/** LVM commands can be slow on busy hosts; pvmove and large zeroing much slower (they get their own). */
const TIMEOUT = 5 * 60_000;
const PVMOVE_TIMEOUT = 24 * 3600_000;
const MERGE_TIMEOUT = 60 * 60_000;
/** Joining a lockspace waits for sanlock: 20 s to 3 min (more when a host died holding it). */
const LOCK_START_TIMEOUT = 10 * 60_000;

/** How to make an LV. Sizes in bytes (LVM rounds up to whole extents). */
export type LvSpec =
  | { kind: 'linear'; stripes?: number; stripeSize?: number }
  | { kind: 'raid1'; mirrors: number }
  | { kind: 'thin'; pool: string }
  | { kind: 'thin-pool' };

// ---- argv builders ------------------------------------------------------------------------------

/** argv for the PV report. */
export function pvsArgs(): string[] {
  return ['pvs', ...REPORT, '-o', PV_FIELDS.join(',')];
}

/** argv for the report of every VG. */
export function vgsArgs(): string[] {
  return ['vgs', ...REPORT, '-o', VG_FIELDS.join(',')];
}

/** argv for the report of the visible LVs of a VG (not the hidden parts of thin pools, RAID images and mirrors). */
export function lvsArgs(vg: string): string[] {
  return ['lvs', ...REPORT, '-o', LV_FIELDS.join(','), vg];
}

/** argv that makes devices PVs (an old signature is wiped without asking: the caller decided). */
export function pvcreateArgs(devices: readonly string[]): string[] {
  return ['pvcreate', '--yes', ...devices];
}

/**
 * argv that removes the PV labels of devices; `skipGlobalLock`: PVs a shared VG had, once it is removed
 * (its lockspace held the global lock, which is gone with it).
 */
export function pvremoveArgs(devices: readonly string[], skipGlobalLock = false): string[] {
  return ['pvremove', ...(skipGlobalLock ? ['--lockopt', 'skipgl'] : []), '--yes', ...devices];
}

/** argv for a VG of PVs, tagged; `shared`: locked through lvmlockd and sanlock, for several hosts (it makes the PVs itself). */
export function vgcreateArgs(vg: string, devices: readonly string[], tag: string, shared = false): string[] {
  return ['vgcreate', ...(shared ? ['--shared', '--locktype', 'sanlock'] : []), '--addtag', tag, vg, ...devices];
}

/** argv that joins (`start`) or leaves a shared VG's lockspace on this host. */
export function lockArgs(vg: string, start: boolean): string[] {
  return ['vgchange', start ? '--lock-start' : '--lock-stop', vg];
}

/** argv that removes a VG; no prompt is answered, so it fails while the VG has LVs. */
export function vgremoveArgs(vg: string): string[] {
  return ['vgremove', vg];
}

/** argv that adds a PV to a VG. */
export function vgextendArgs(vg: string, device: string): string[] {
  return ['vgextend', vg, device];
}

/** argv that takes an empty PV out of its VG. */
export function vgreduceArgs(vg: string, device: string): string[] {
  return ['vgreduce', vg, device];
}

/** argv for an LV of `size` bytes, tagged; its first blocks are zeroed and old signatures wiped. */
export function lvcreateArgs(vg: string, name: string, size: number, spec: LvSpec, tag: string): string[] {
  const shape =
    spec.kind === 'linear' ? (spec.stripes && spec.stripes > 1 ? ['--stripes', String(spec.stripes), ...(spec.stripeSize ? ['--stripesize', `${spec.stripeSize / 1024}k`] : [])] : [])
    : spec.kind === 'raid1' ? ['--type', 'raid1', '--mirrors', String(spec.mirrors), '--nosync']
    : spec.kind === 'thin' ? ['--type', 'thin', '--thinpool', spec.pool]
    : ['--type', 'thin-pool'];
  const sizeArgs = spec.kind === 'thin' ? ['--virtualsize', `${size}b`] : ['--size', `${size}b`];
  // A new thin volume reads as zeros; a thin pool zeroes the blocks it provisions (no data of a deleted
  // volume shows through); other LVs get their first blocks zeroed and old signatures wiped.
  const clean = { thin: [], 'thin-pool': ['--zero', 'y'], linear: ['--wipesignatures', 'y', '--zero', 'y'], raid1: ['--wipesignatures', 'y', '--zero', 'y'] }[spec.kind];
  return ['lvcreate', '--yes', ...clean, '--addtag', tag, '--name', name, ...sizeArgs, ...shape, vg];
}

/** argv that makes a full thin pool fail writes at once (ENOSPC) instead of queueing them for a minute. */
export function errorWhenFullArgs(vg: string, pool: string): string[] {
  return ['lvchange', '--errorwhenfull', 'y', `${vg}/${pool}`];
}

/** argv for a snapshot of `origin`: thin without `size`, copy-on-write with room for `size` bytes of changes. */
export function snapshotArgs(vg: string, origin: string, name: string, size: number | undefined, tag: string): string[] {
  // A thin snapshot is skipped at activation by default: -K activates it anyway, -ky keeps it so.
  const sizeArgs = size !== undefined ? ['--size', `${size}b`] : ['--setactivationskip', 'n'];
  return ['lvcreate', '--yes', '--snapshot', '--addtag', tag, '--name', name, ...sizeArgs, `${vg}/${origin}`];
}

/** argv that merges a snapshot back into its origin (the snapshot is consumed). */
export function mergeArgs(vg: string, snapshot: string): string[] {
  return ['lvconvert', '--merge', `${vg}/${snapshot}`];
}

/** argv that removes an LV. */
export function lvremoveArgs(vg: string, name: string): string[] {
  return ['lvremove', '--yes', `${vg}/${name}`];
}

/** argv that renames an LV. */
export function lvrenameArgs(vg: string, from: string, to: string): string[] {
  return ['lvrename', vg, from, to];
}

/** argv that resizes an LV to `size` bytes; without `shrink` it only grows (lvextend refuses a smaller size). */
export function resizeArgs(vg: string, name: string, size: number, shrink: boolean): string[] {
  return [shrink ? 'lvresize' : 'lvextend', ...(shrink ? ['--yes', '--force'] : []), '--size', `${size}b`, `${vg}/${name}`];
}

/** argv that extends an LV (a thin pool) by `bytes`. */
export function extendByArgs(vg: string, name: string, bytes: number): string[] {
  return ['lvextend', '--size', `+${bytes}b`, `${vg}/${name}`];
}

/** argv that activates or deactivates one LV; `exclusive`: on this host only (a shared VG's lock held). */
export function activateArgs(vg: string, name: string, active: boolean | 'exclusive'): string[] {
  return ['lvchange', '--activate', active === 'exclusive' ? 'ey' : active ? 'y' : 'n', `${vg}/${name}`];
}

/** argv that adds and removes tags of an LV. */
export function changeTagsArgs(vg: string, name: string, add: readonly string[], remove: readonly string[]): string[] {
  return ['lvchange', ...add.flatMap((t) => ['--addtag', t]), ...remove.flatMap((t) => ['--deltag', t]), `${vg}/${name}`];
}

/** argv that lets a PV take new extents, or not. */
export function allocatableArgs(device: string, allocatable: boolean): string[] {
  return ['pvchange', '--allocatable', allocatable ? 'y' : 'n', device];
}

/** argv that moves every extent off a PV, atomically, reporting progress every second. */
export function pvmoveArgs(device: string): string[] {
  return ['pvmove', '--atomic', '--interval', '1', device];
}

/** argv that aborts a move off a PV (the extents stay where they were). */
export function abortPvmoveArgs(device: string): string[] {
  return ['pvmove', '--abort', device];
}

// ---- failures and names -------------------------------------------------------------------------

/**
 * NO_SPACE for a VG or thin pool that is out of extents (`Volume group "vg" has insufficient free space
 * (136 extents): 1024 required.`); other failures stay as they are.
 */
export function classify(e: unknown): unknown {
  if (!(e instanceof HostCommandError) || e.code !== 'HOST_COMMAND_FAILED') return e;
  const stderr = e.details.stderr;
  if (/Insufficient (free )?(space|extents)|not enough free space|Volume group "[^"]+" has insufficient free space/i.test(stderr)) {
    return new KvmpoolError('NO_SPACE', 'not enough free space in the volume group', { ...e.details }, { cause: e });
  }
  // A shared VG's LV that another host has active (its lock is held there).
  const locked = /LV locked by other host: (\S+)/.exec(stderr);
  if (locked) return new KvmpoolError('IN_USE', `LV ${locked[1]} is active on another host`, { ...e.details, lv: locked[1] }, { cause: e });
  return e;
}

/** A problem with a name LVM would refuse for a VG or LV, or undefined when it is fine. */
function lvmNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > 127) return 'must be 1 to 127 characters';
  if (!/^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$/.test(name)) return 'may only hold letters, digits and + _ . - (not starting with -)';
  if (name === '.' || name === '..') return 'is reserved';
  if (/^(snapshot|pvmove)/.test(name)) return "may not start with 'snapshot' or 'pvmove'";
  const reserved = ['_cdata', '_cmeta', '_corig', '_cpool', '_cvol', '_mimage', '_mlog', '_pmspare', '_rimage', '_rmeta', '_tdata', '_tmeta', '_vdata', '_vorigin', '_wcorig'];
  const hit = reserved.find((r) => name.includes(r));
  return hit ? `may not contain '${hit}' (reserved by LVM)` : undefined;
}

/** INVALID_ARGUMENT unless LVM accepts `name` for a `what` (volume group, volume, snapshot). */
export function checkLvmName(what: string, name: string): string {
  const problem = lvmNameProblem(name);
  if (problem) throw errors.invalid(`${what} name '${name}' ${problem}`, { name });
  return name;
}

// ---- one command each ---------------------------------------------------------------------------

async function lvm(args: string[], options: ExecOptions = {}): Promise<string> {
  const { stdout } = await run('lvm', args, { timeoutMs: TIMEOUT, ...options }).catch((e: unknown) => {
    throw classify(e);
  });
  return stdout;
}

/** Every PV of the host. */
export async function pvs(): Promise<PvInfo[]> {
  return parsePvs(await lvm(pvsArgs()));
}

/** The VG, or undefined when it does not exist. */
export async function vg(name: string): Promise<VgInfo | undefined> {
  return parseVgs(await lvm(vgsArgs())).find((v) => v.name === name);
}

/** The visible LVs of a VG. */
export async function lvs(vgName: string): Promise<LvInfo[]> {
  return parseLvs(await lvm(lvsArgs(vgName)));
}

/** Makes devices PVs. */
export async function pvcreate(devices: readonly string[]): Promise<void> {
  await lvm(pvcreateArgs(devices));
}

/** Removes the PV labels of devices. */
export async function pvremove(devices: readonly string[], skipGlobalLock = false): Promise<void> {
  await lvm(pvremoveArgs(devices, skipGlobalLock));
}

/** Makes a VG of PVs, tagged. */
export async function vgcreate(name: string, devices: readonly string[], tag: string, shared = false): Promise<void> {
  await lvm(vgcreateArgs(name, devices, tag, shared), { timeoutMs: shared ? LOCK_START_TIMEOUT : TIMEOUT });
}

/** Removes a VG (its PVs keep their labels); fails if it still has LVs. */
export async function vgremove(name: string): Promise<void> {
  await lvm(vgremoveArgs(name));
}

/** Adds a PV to a VG. */
export async function vgextend(name: string, device: string): Promise<void> {
  await lvm(vgextendArgs(name, device));
}

/** Takes an empty PV out of its VG (it stays a PV). */
export async function vgreduce(name: string, device: string): Promise<void> {
  await lvm(vgreduceArgs(name, device));
}

/** Creates an LV of `size` bytes, tagged (see `lvcreateArgs`); NO_SPACE when the VG or thin pool is too small. */
export async function lvcreate(vgName: string, name: string, size: number, spec: LvSpec, tag: string, options: ExecOptions = {}): Promise<void> {
  await lvm(lvcreateArgs(vgName, name, size, spec, tag), options);
}

/** Makes a full thin pool fail writes at once instead of queueing them. */
export async function setErrorWhenFull(vgName: string, pool: string): Promise<void> {
  await lvm(errorWhenFullArgs(vgName, pool));
}

/** A snapshot of `origin`: thin (no size, instant, shares the thin pool) or classic copy-on-write of `size` bytes. */
export async function snapshotLv(vgName: string, origin: string, name: string, size: number | undefined, tag: string): Promise<void> {
  await lvm(snapshotArgs(vgName, origin, name, size, tag));
}

/** Merges a snapshot back into its origin (the snapshot is consumed); waits for the merge. */
export async function mergeSnapshot(vgName: string, snapshot: string): Promise<void> {
  await lvm(mergeArgs(vgName, snapshot), { timeoutMs: MERGE_TIMEOUT });
}

/** Removes an LV. */
export async function removeLv(vgName: string, name: string): Promise<void> {
  await lvm(lvremoveArgs(vgName, name));
}

/** Renames an LV. */
export async function renameLv(vgName: string, from: string, to: string): Promise<void> {
  await lvm(lvrenameArgs(vgName, from, to));
}

/** Resizes an LV to `size` bytes; without `shrink` it only grows. */
export async function resizeLv(vgName: string, name: string, size: number, shrink: boolean): Promise<void> {
  await lvm(resizeArgs(vgName, name, size, shrink));
}

/** Activates or deactivates one LV (`exclusive`: see activateArgs). */
export async function activateLv(vgName: string, name: string, active: boolean | 'exclusive'): Promise<void> {
  await lvm(activateArgs(vgName, name, active));
}

/**
 * Joins a shared VG's lockspace on this host (LVM waits until sanlock has joined: up to minutes after
 * an unclean stop). Without udev the first start can fail with "invalid parameters for sanlock" (lvmlockd
 * looks for the lock LV's device before it is made): it is tried once more then.
 */
export async function lockStart(vgName: string): Promise<void> {
  const start = () => lvm(lockArgs(vgName, true), { timeoutMs: LOCK_START_TIMEOUT });
  await start().catch((e: unknown) => {
    if (e instanceof HostCommandError && /invalid parameters for sanlock/.test(e.details.stderr)) return start();
    throw e;
  });
}

/** Leaves a shared VG's lockspace on this host (its LVs must be inactive here). */
export async function lockStop(vgName: string): Promise<void> {
  await lvm(lockArgs(vgName, false));
}

/** Where a shared VG's LV has its lock: the byte offset of its lease in the VG's lock LV (LVM's `lock_args` 1.0.0:OFFSET). */
export async function lockOffset(vgName: string, name: string): Promise<number | undefined> {
  return parseLockOffset(await lvm(['lvs', ...REPORT, '-o', 'lv_name,lock_args', `${vgName}/${name}`]));
}

/** Extends an LV (a thin pool) by `bytes`. */
export async function extendLvBy(vgName: string, name: string, bytes: number): Promise<void> {
  await lvm(extendByArgs(vgName, name, bytes));
}

/** Adds and removes tags of an LV. */
export async function changeTags(vgName: string, name: string, add: readonly string[], remove: readonly string[]): Promise<void> {
  await lvm(changeTagsArgs(vgName, name, add, remove));
}

/** Lets a PV take new extents, or not. */
export async function setAllocatable(device: string, allocatable: boolean): Promise<void> {
  await lvm(allocatableArgs(device, allocatable));
}

/**
 * Moves every extent off `device` to the other PVs of its VG, online and atomically; `onPercent`
 * follows the progress. A PV without data is done at once (`No data to move for vg`). A cancel (the
 * signal) stops waiting, not the move: the caller aborts it (`abortPvmove`).
 */
export async function pvmove(device: string, onPercent: (percent: number) => void, signal?: AbortSignal): Promise<void> {
  const options: ExecOptions = {
    timeoutMs: PVMOVE_TIMEOUT,
    ...(signal ? { signal } : {}),
    onStdout: (chunk) => {
      const p = parsePvmoveProgress(chunk);
      if (p !== undefined) onPercent(p);
    },
  };
  await lvm(pvmoveArgs(device), options).catch((e: unknown) => {
    if (!(e instanceof HostCommandError && /No data to move/i.test(e.details.stderr))) throw e;
  });
}

/** Aborts the move off `device`: the extents not yet moved stay where they were. */
export async function abortPvmove(device: string): Promise<void> {
  await lvm(abortPvmoveArgs(device));
}
