import { KvmpoolError, errors } from '../model/errors.js';
import { HostCommandError, run, type ExecOptions } from './exec.js';

/**
 * LVM through its JSON reports (`--reportformat json`, sizes in bytes) and argv commands. Commands
 * answer prompts with --yes only where the caller already decided (removal, wiping); a prompt
 * otherwise fails (stdin is closed).
 */

const REPORT = ['--reportformat', 'json', '--units', 'b', '--nosuffix'];
/** LVM commands can be slow on busy hosts; pvmove and large zeroing much slower (they get their own). */
const TIMEOUT = 5 * 60_000;

export interface PvInfo {
  name: string;
  vg: string;
  size: number;
  free: number;
}

export interface VgInfo {
  name: string;
  size: number;
  free: number;
  extentSize: number;
  tags: string[];
  /** One of its PVs is missing (vg_attr's fourth character is `p`). */
  partial: boolean;
}

export interface LvInfo {
  name: string;
  vg: string;
  path: string;
  size: number;
  /** LVM's segment type: linear, striped, raid1, thin, thin-pool, snapshot, ... */
  segtype: string;
  uuid: string;
  tags: string[];
  /** The thin pool of a thin volume. */
  pool?: string;
  /** The origin of a snapshot. */
  origin?: string;
  dataPercent?: number;
  metadataPercent?: number;
  stripes: number;
  active: boolean;
  open: boolean;
  /** A copy-on-write snapshot that ran out of room (lv_attr's fifth character is `I`). */
  invalid: boolean;
  created: string;
}

type Row = Record<string, string>;

/** The rows of one report (`pv`, `vg` or `lv`) of LVM's JSON output. */
function parseReport(json: string, kind: 'pv' | 'vg' | 'lv'): Row[] {
  const parsed = JSON.parse(json) as { report?: Record<string, Row[]>[] };
  return (parsed.report ?? []).flatMap((r) => r[kind] ?? []);
}

const tags = (s: string | undefined) => (s ? s.split(',').filter((t) => t !== '') : []);
const percent = (s: string | undefined) => (s === undefined || s === '' ? undefined : Number(s));

function toPv(r: Row): PvInfo {
  return { name: r['pv_name']!, vg: r['vg_name'] ?? '', size: Number(r['pv_size']), free: Number(r['pv_free']) };
}

function toVg(r: Row): VgInfo {
  return { name: r['vg_name']!, size: Number(r['vg_size']), free: Number(r['vg_free']), extentSize: Number(r['vg_extent_size']), tags: tags(r['vg_tags']), partial: r['vg_attr']?.[3] === 'p' };
}

function toLv(r: Row): LvInfo {
  const lv: LvInfo = {
    name: r['lv_name']!,
    vg: r['vg_name']!,
    path: r['lv_path'] || `/dev/${r['vg_name']}/${r['lv_name']}`,
    size: Number(r['lv_size']),
    segtype: r['segtype'] ?? '',
    uuid: r['lv_uuid'] ?? '',
    tags: tags(r['lv_tags']),
    stripes: Number(r['stripes'] || 1),
    active: r['lv_active'] === 'active',
    open: r['lv_device_open'] === 'open',
    invalid: r['lv_attr']?.[4] === 'I',
    created: r['lv_time'] ?? '',
  };
  if (r['pool_lv']) lv.pool = r['pool_lv'];
  if (r['origin']) lv.origin = r['origin'];
  const data = percent(r['data_percent']);
  if (data !== undefined) lv.dataPercent = data;
  const meta = percent(r['metadata_percent']);
  if (meta !== undefined) lv.metadataPercent = meta;
  return lv;
}

async function lvm(args: string[], options: ExecOptions = {}): Promise<string> {
  const { stdout } = await run('lvm', args, { timeoutMs: TIMEOUT, ...options }).catch((e: unknown) => {
    throw classifyLvm(e);
  });
  return stdout;
}

/** NO_SPACE for a VG or thin pool that is out of extents; other failures stay HOST_COMMAND_FAILED. */
function classifyLvm(e: unknown): unknown {
  if (!(e instanceof HostCommandError) || e.code !== 'HOST_COMMAND_FAILED') return e;
  const stderr = e.details.stderr;
  if (/Insufficient (free )?(space|extents)|not enough free space|Volume group "[^"]+" has insufficient free space/i.test(stderr)) {
    return new KvmpoolError('NO_SPACE', 'not enough free space in the volume group', { ...e.details }, { cause: e });
  }
  return e;
}

export async function pvs(): Promise<PvInfo[]> {
  return parseReport(await lvm(['pvs', ...REPORT, '-o', 'pv_name,vg_name,pv_size,pv_free']), 'pv').map(toPv);
}

/** The VG, or undefined when it does not exist. */
export async function vg(name: string): Promise<VgInfo | undefined> {
  const rows = parseReport(await lvm(['vgs', ...REPORT, '-o', 'vg_name,vg_attr,vg_size,vg_free,vg_extent_size,vg_tags']), 'vg');
  return rows.map(toVg).find((v) => v.name === name);
}

const LV_FIELDS = 'lv_name,vg_name,lv_path,lv_size,lv_attr,segtype,lv_uuid,lv_tags,pool_lv,origin,data_percent,metadata_percent,stripes,lv_active,lv_device_open,lv_time';

/** The visible LVs of a VG (not the hidden parts of thin pools, RAID images and mirrors). */
export async function lvs(vgName: string): Promise<LvInfo[]> {
  return parseReport(await lvm(['lvs', ...REPORT, '-o', LV_FIELDS, vgName]), 'lv').map(toLv);
}

/** Makes devices PVs and a VG of them, tagged; on failure no PV label it wrote is left. */
export async function createVg(name: string, devices: string[], tag: string): Promise<void> {
  try {
    await lvm(['pvcreate', '--yes', ...devices]);
    await lvm(['vgcreate', '--addtag', tag, name, ...devices]);
  } catch (e) {
    for (const d of devices) await lvm(['pvremove', '--yes', d]).catch(() => undefined);
    throw e;
  }
}

/** Removes a VG and the PV labels of its devices; fails (no prompt is answered) if it still has LVs. */
export async function removeVg(name: string, devices: string[]): Promise<void> {
  await lvm(['vgremove', name]);
  if (devices.length > 0) await lvm(['pvremove', '--yes', ...devices]);
}

export async function extendVg(name: string, device: string): Promise<void> {
  await lvm(['pvcreate', '--yes', device]);
  await lvm(['vgextend', name, device]).catch(async (e: unknown) => {
    await lvm(['pvremove', '--yes', device]).catch(() => undefined);
    throw e;
  });
}

export async function reduceVg(name: string, device: string): Promise<void> {
  await lvm(['vgreduce', name, device]);
  await lvm(['pvremove', '--yes', device]);
}

/** How to make an LV. Sizes in bytes (LVM rounds up to whole extents). */
export type LvSpec =
  | { kind: 'linear'; stripes?: number; stripeSize?: number }
  | { kind: 'raid1'; mirrors: number }
  | { kind: 'thin'; pool: string }
  | { kind: 'thin-pool' };

/** Creates an LV of `size` bytes, tagged; its first blocks are zeroed and old signatures wiped. */
export async function createLv(vgName: string, name: string, size: number, spec: LvSpec, tag: string, options: ExecOptions = {}): Promise<void> {
  const shape: Record<LvSpec['kind'], () => string[]> = {
    linear: () => (spec.kind === 'linear' && spec.stripes && spec.stripes > 1 ? ['--stripes', String(spec.stripes), ...(spec.stripeSize ? ['--stripesize', `${spec.stripeSize / 1024}k`] : [])] : []),
    raid1: () => (spec.kind === 'raid1' ? ['--type', 'raid1', '--mirrors', String(spec.mirrors), '--nosync'] : []),
    thin: () => (spec.kind === 'thin' ? ['--type', 'thin', '--thinpool', spec.pool] : []),
    'thin-pool': () => ['--type', 'thin-pool'],
  };
  const sizeArgs = spec.kind === 'thin' ? ['--virtualsize', `${size}b`] : ['--size', `${size}b`];
  // A new thin volume reads as zeros; a thin pool zeroes the blocks it provisions (no data of a deleted
  // volume shows through); other LVs get their first blocks zeroed and old signatures wiped.
  const clean = { thin: [], 'thin-pool': ['--zero', 'y'], linear: ['--wipesignatures', 'y', '--zero', 'y'], raid1: ['--wipesignatures', 'y', '--zero', 'y'] }[spec.kind];
  await lvm(['lvcreate', '--yes', ...clean, '--addtag', tag, '--name', name, ...sizeArgs, ...shape[spec.kind](), vgName], options);
  // A full thin pool fails the write at once (ENOSPC) instead of queueing it for a minute.
  if (spec.kind === 'thin-pool') {
    await lvm(['lvchange', '--errorwhenfull', 'y', `${vgName}/${name}`]).catch(async (e: unknown) => {
      await removeLv(vgName, name).catch(() => undefined);
      throw e;
    });
  }
}

/** A snapshot of `origin`: thin (no size, instant, shares the thin pool) or classic copy-on-write of `size` bytes. */
export async function snapshotLv(vgName: string, origin: string, name: string, size: number | undefined, tag: string): Promise<void> {
  // A thin snapshot is skipped at activation by default: -K activates it anyway, -ky keeps it so.
  const sizeArgs = size !== undefined ? ['--size', `${size}b`] : ['--setactivationskip', 'n'];
  await lvm(['lvcreate', '--yes', '--snapshot', '--addtag', tag, '--name', name, ...sizeArgs, `${vgName}/${origin}`]);
}

/** Merges a snapshot back into its origin (the snapshot is consumed); waits for the merge. */
export async function mergeSnapshot(vgName: string, snapshot: string): Promise<void> {
  await lvm(['lvconvert', '--merge', `${vgName}/${snapshot}`], { timeoutMs: 60 * 60_000 });
}

export async function removeLv(vgName: string, name: string): Promise<void> {
  await lvm(['lvremove', '--yes', `${vgName}/${name}`]);
}

export async function renameLv(vgName: string, from: string, to: string): Promise<void> {
  await lvm(['lvrename', vgName, from, to]);
}

/** Resizes an LV to `size` bytes; without `shrink` it only grows (lvextend refuses a smaller size). */
export async function resizeLv(vgName: string, name: string, size: number, shrink: boolean): Promise<void> {
  await lvm([shrink ? 'lvresize' : 'lvextend', ...(shrink ? ['--yes', '--force'] : []), '--size', `${size}b`, `${vgName}/${name}`]);
}

export async function activateLv(vgName: string, name: string, active: boolean): Promise<void> {
  await lvm(['lvchange', '--activate', active ? 'y' : 'n', `${vgName}/${name}`]);
}

/** Extends an LV (a thin pool) by `bytes`. */
export async function extendLvBy(vgName: string, name: string, bytes: number): Promise<void> {
  await lvm(['lvextend', '--size', `+${bytes}b`, `${vgName}/${name}`]);
}

/**
 * Moves every extent off `device` to the other PVs of its VG, online and atomically; `onPercent`
 * follows the progress. The device takes no new extents meanwhile. A cancel (the signal) aborts the
 * move of this device only: the extents stay where they were, and the device is allocatable again.
 */
export async function moveExtents(device: string, onPercent: (p: number) => void, signal?: AbortSignal): Promise<void> {
  await lvm(['pvchange', '--allocatable', 'n', device]);
  try {
    await lvm(['pvmove', '--atomic', '--interval', '1', device], {
      timeoutMs: 24 * 3600_000,
      ...(signal ? { signal } : {}),
      onStdout: (chunk) => {
        const all = [...chunk.matchAll(/Moved:\s*(\d+(?:\.\d+)?)%/g)];
        const last = all.at(-1);
        if (last) onPercent(Number(last[1]));
      },
    });
  } catch (e) {
    if (!(e instanceof HostCommandError && /No data to move/i.test(e.details.stderr))) {
      if (signal?.aborted) await lvm(['pvmove', '--abort', device]).catch(() => undefined);
      await lvm(['pvchange', '--allocatable', 'y', device]).catch(() => undefined);
      if (signal?.aborted) throw new KvmpoolError('CANCELLED', `moving the data off ${device} was cancelled; it stays where it was`, { device });
      throw e;
    }
  }
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

/** Adds and removes tags of an LV. */
export async function changeTags(vgName: string, name: string, add: string[], remove: string[]): Promise<void> {
  await lvm(['lvchange', ...add.flatMap((t) => ['--addtag', t]), ...remove.flatMap((t) => ['--deltag', t]), `${vgName}/${name}`]);
}
