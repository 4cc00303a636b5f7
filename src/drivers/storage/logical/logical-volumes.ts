import { errors } from '../../../model/errors.js';
import { parseSize } from '../../../model/sizes.js';
import { Reverter } from '../../../model/reverter.js';
import type { VolumeFacts } from '../../../model/volume-types.js';
import type { LogicalDefinition as PoolDefinition, LogicalVolumeOptionsValue } from './logical-settings.js';
import * as lvm from '../../../host/lvm.js';
import type { LvInfo, LvSpec } from '../../../host/lvm.js';
import { processesUsing } from '../../../host/open-files.js';
import { convertInto, zeroRange } from '../block/block-data.js';
import { localStage, type CloneTarget, type CopySource, type OpContext, type UploadStage, type VolumeSpec } from '../driver.js';
import { isShared, namingHolder, releaseLv, SHARED_THIN } from './logical-shared.js';
import { checkVolumeLvName, isOwn, isOwnThinPool, isSnapshotOf, OLD_SUFFIX, SNAP_TAG, STAGE_SUFFIX, STAGE_TAG, TAG, THIN_POOL, vgOf } from './logical-names.js';

/** LVs of the pool that are volumes: not its thin pool, snapshots, upload stages or volumes being replaced. */
function volumeLvs(all: LvInfo[]): LvInfo[] {
  const replaced = (lv: LvInfo) => lv.tags.includes(TAG) && lv.name.endsWith(OLD_SUFFIX);
  return all.filter((lv) => lv.segtype !== 'thin-pool' && !lv.tags.includes(SNAP_TAG) && !lv.tags.includes(STAGE_TAG) && !replaced(lv));
}

/**
 * Completes or undoes an upload swap (`commitLvUpload`) that a crash cut short: before the stage took
 * the volume's name, the old LV gets its name back and the stage goes; after, the new content stays
 * and the old LV goes.
 */
export async function repairUploadSwaps(def: PoolDefinition, all: LvInfo[]): Promise<void> {
  const vg = vgOf(def);
  for (const old of all.filter((lv) => lv.tags.includes(TAG) && lv.name.endsWith(OLD_SUFFIX))) {
    const name = old.name.slice(0, -OLD_SUFFIX.length);
    const current = all.find((lv) => lv.name === name);
    if (!current) {
      await lvm.renameLv(vg, old.name, name);
      const stage = all.find((lv) => lv.name === stageName(name) && lv.tags.includes(STAGE_TAG));
      if (stage) await lvm.removeLv(vg, stage.name);
      continue;
    }
    if (current.tags.includes(STAGE_TAG)) await lvm.changeTags(vg, name, [TAG], [STAGE_TAG]);
    await lvm.removeLv(vg, old.name);
  }
}

/** What kind of LV holds a volume: linear, striped, raid1, thin, or LVM's segment type. */
function kindOf(lv: LvInfo): string {
  if (lv.segtype === 'striped') return lv.stripes > 1 ? 'striped' : 'linear';
  return lv.segtype;
}

/** A volume's facts from its LV; a thin LV's allocation is what it uses of the thin pool. */
function lvFacts(lv: LvInfo, all: LvInfo[], def: PoolDefinition): VolumeFacts {
  const thin = lv.segtype === 'thin';
  const snapshots = all.filter((s) => isSnapshotOf(s, lv.name, lv.uuid)).length;
  return {
    name: lv.name,
    path: lv.path,
    format: 'raw',
    capacity: lv.size,
    allocation: thin ? Math.round((lv.size * (lv.dataPercent ?? 0)) / 100) : lv.size,
    identity: lv.uuid,
    stamp: `${lv.size}:${lv.dataPercent ?? ''}:${lv.active}`,
    kind: kindOf(lv),
    ...(snapshots > 0 ? { snapshots } : {}),
    // Another host's kvmpool may have made it.
    ...(isShared(def) && lv.tags.includes(TAG) ? { marked: true } : {}),
    // A shared pool's LV is active only on the host that uses it.
    ...(!lv.active && !isShared(def) ? { warnings: ['the LV is not active (start the pool, or activate it)'] } : {}),
  };
}

export async function listLvVolumes(def: PoolDefinition): Promise<VolumeFacts[]> {
  const all = await lvm.lvs(vgOf(def));
  return volumeLvs(all).map((lv) => lvFacts(lv, all, def));
}

export async function readLvVolume(def: PoolDefinition, name: string): Promise<VolumeFacts> {
  const all = await lvm.lvs(vgOf(def));
  const lv = volumeLvs(all).find((l) => l.name === name);
  if (!lv) throw errors.notFound('volume', `${def.name}/${name}`);
  return lvFacts(lv, all, def);
}

/** The LVM shape of a new volume: thin (needs the pool's thin pool), striped, raid1, or linear. */
async function shapeOf(def: PoolDefinition, spec: VolumeSpec<LogicalVolumeOptionsValue>, all: LvInfo[]): Promise<LvSpec> {
  const { thin, stripes, mirrors } = spec.options;
  const layouts = [thin, stripes !== undefined && stripes > 1, mirrors !== undefined && mirrors > 0].filter(Boolean).length;
  if (layouts > 1) throw errors.invalid('a volume is thin, striped or mirrored: choose one');
  const stripeSize = spec.options.stripeSize === undefined ? undefined : parseSize(spec.options.stripeSize);
  if (stripeSize !== undefined) {
    if (stripeSize < 4096 || stripeSize > 512 * 1024 ** 2 || (stripeSize & (stripeSize - 1)) !== 0) throw errors.invalid(`invalid stripe size ${spec.options.stripeSize}: a power of two from 4K to 512M`);
    if (!stripes || stripes < 2) throw errors.invalid('a stripe size needs --stripes 2 or more');
  }
  if (thin) {
    if (!all.some(isOwnThinPool)) {
      throw errors.invalid(`pool '${def.name}' has no thin pool: define it with --thin-pool SIZE`, { pool: def.name });
    }
    if (spec.prealloc === 'full') throw errors.notSupported('a thin volume allocates as it is written: full preallocation does not apply');
    return { kind: 'thin', pool: THIN_POOL };
  }
  const pvCount = (await lvm.pvs()).filter((pv) => pv.vg === vgOf(def)).length;
  if (mirrors !== undefined && mirrors > 0) {
    if (mirrors + 1 > pvCount) throw errors.invalid(`${mirrors + 1} copies need as many devices; pool '${def.name}' has ${pvCount}`, { devices: pvCount });
    return { kind: 'raid1', mirrors };
  }
  if (stripes !== undefined && stripes > 1) {
    if (stripes > pvCount) throw errors.invalid(`${stripes} stripes need as many devices; pool '${def.name}' has ${pvCount}`, { devices: pvCount });
    return { kind: 'linear', stripes, ...(stripeSize ? { stripeSize } : {}) };
  }
  return { kind: 'linear' };
}

export async function createLvVolume(def: PoolDefinition, spec: VolumeSpec<LogicalVolumeOptionsValue>, ctx: OpContext): Promise<VolumeFacts> {
  checkVolumeLvName(spec.name);
  if (spec.format !== 'raw') throw errors.notSupported(`volumes of a logical pool are raw LVs, not ${spec.format}`, { format: spec.format });
  const all = await lvm.lvs(vgOf(def));
  if (all.some((lv) => lv.name === spec.name)) throw errors.exists('volume', `${def.name}/${spec.name}`);
  if (isShared(def) && spec.options.thin) throw errors.invalid(SHARED_THIN);
  const shape = await shapeOf(def, spec, all);
  ctx.progress(0, spec.capacity);
  await lvm.lvcreate(vgOf(def), spec.name, spec.capacity, shape, TAG, { signal: ctx.signal });
  // In a shared VG the new LV is active here (exclusively, so that its start was zeroed): it is given up until it is used.
  if (isShared(def)) await releaseLv(def, spec.name);
  ctx.progress(spec.capacity, spec.capacity);
  return readLvVolume(def, spec.name);
}

/** Removes a volume's LV and the snapshots kvmpool took of it; a snapshot someone else took keeps it (IN_USE). */
export async function deleteLvVolume(def: PoolDefinition, vol: VolumeFacts): Promise<void> {
  const all = await lvm.lvs(vgOf(def));
  const theirs = all.filter((s) => s.origin === vol.name && !isOwn(s));
  if (theirs.length > 0) throw errors.inUse(`${vol.name} has snapshots kvmpool did not take: ${theirs.map((s) => s.name).join(', ')}`, { snapshots: theirs.map((s) => s.name) });
  for (const snap of all.filter((s) => isSnapshotOf(s, vol.name, vol.identity))) await lvm.removeLv(vgOf(def), snap.name);
  await namingHolder(def, vol.name, () => lvm.removeLv(vgOf(def), vol.name));
}

export async function resizeLvVolume(def: PoolDefinition, vol: VolumeFacts, capacity: number, shrink: boolean): Promise<VolumeFacts> {
  await namingHolder(def, vol.name, () => lvm.resizeLv(vgOf(def), vol.name, capacity, shrink));
  return readLvVolume(def, vol.name);
}

export async function renameLvVolume(def: PoolDefinition, vol: VolumeFacts, newName: string): Promise<VolumeFacts> {
  checkVolumeLvName(newName);
  const all = await lvm.lvs(vgOf(def));
  if (all.some((lv) => lv.name === newName)) throw errors.exists('volume', `${def.name}/${newName}`);
  await namingHolder(def, vol.name, () => lvm.renameLv(vgOf(def), vol.name, newName));
  return readLvVolume(def, newName);
}

/** Processes with the LV open; an LV the kernel holds (mounted, under another device) counts too. */
export async function lvVolumeUsers(def: PoolDefinition, vol: VolumeFacts): Promise<string[]> {
  const users = async () => (await processesUsing(vol.path)).map((u) => `${u.command}[${u.pid}]`);
  const first = await users();
  if (first.length > 0) return first;
  const lv = (await lvm.lvs(vgOf(def))).find((l) => l.name === vol.name);
  if (!lv?.open) return [];
  // A process may have opened it between the two looks: then it is that process, not the kernel.
  const again = await users();
  return again.length > 0 ? again : ['the kernel (mounted, or under another device)'];
}

/** An instant clone of a thin volume: a thin snapshot that is a volume of its own. */
export async function cloneLvVolume(def: PoolDefinition, source: VolumeFacts, target: CloneTarget): Promise<VolumeFacts> {
  checkVolumeLvName(target.name);
  if (source.kind !== 'thin') throw errors.notSupported(`an instant clone needs a thin volume; ${source.name} is ${source.kind ?? 'not thin'}`);
  if (target.format !== 'raw') throw errors.notSupported('volumes of a logical pool are raw LVs');
  await lvm.snapshotLv(vgOf(def), source.name, target.name, undefined, TAG);
  return readLvVolume(def, target.name);
}

/**
 * A full copy into a new LV (thin when the pool has a thin pool, so holes stay unallocated) through
 * qemu-img convert, written in place with O_DIRECT. A failed or cancelled copy removes the LV.
 */
export async function copyIntoLv(def: PoolDefinition, source: CopySource, target: CloneTarget, ctx: OpContext): Promise<VolumeFacts> {
  checkVolumeLvName(target.name);
  if (target.format !== 'raw') throw errors.notSupported('volumes of a logical pool are raw LVs: copy with --format raw');
  const all = await lvm.lvs(vgOf(def));
  if (all.some((lv) => lv.name === target.name)) throw errors.exists('volume', `${def.name}/${target.name}`);
  const thin = all.some(isOwnThinPool);
  const vg = vgOf(def);
  return Reverter.run(ctx.log, async (r) => {
    await lvm.lvcreate(vg, target.name, source.capacity, thin ? { kind: 'thin', pool: THIN_POOL } : { kind: 'linear' }, TAG);
    r.add(`remove LV ${vg}/${target.name}`, () => lvm.removeLv(vg, target.name));
    await convertInto(source, `/dev/${vg}/${target.name}`, thin, ctx);
    if (isShared(def)) await releaseLv(def, target.name);
    return readLvVolume(def, target.name);
  });
}

/** Where a whole-volume upload goes: a new LV of the volume's size and kind, swapped in by `commitLvUpload`. */
export async function lvUploadStage(def: PoolDefinition, vol: VolumeFacts): Promise<UploadStage> {
  if (vol.kind !== 'thin' && vol.kind !== 'linear') {
    throw errors.notSupported(`a whole upload would replace ${vol.kind} volume ${vol.name} by a linear LV: upload with --offset 0 to write it in place`);
  }
  const name = stageName(vol.name);
  const vg = vgOf(def);
  const all = await lvm.lvs(vg);
  if (all.some((lv) => lv.origin === vol.name || isSnapshotOf(lv, vol.name, vol.identity))) throw errors.notSupported(`${vol.name} has snapshots: a whole upload would replace the LV they belong to (delete them first)`);
  const leftover = all.find((lv) => lv.name === name);
  if (leftover && !leftover.tags.includes(STAGE_TAG)) throw errors.inUse(`an LV named ${name} is in the way of the upload`, { lv: name });
  if (leftover) await lvm.removeLv(vg, name);
  const thin = vol.kind === 'thin';
  await lvm.lvcreate(vg, name, vol.capacity, thin ? { kind: 'thin', pool: THIN_POOL } : { kind: 'linear' }, STAGE_TAG);
  return { access: { kind: 'block', path: `/dev/${vg}/${name}` }, create: false, zeroHoles: !thin };
}

/** Makes a fully written stage the volume: the old LV is renamed away, the stage takes its name, the old one goes. */
export async function commitLvUpload(def: PoolDefinition, vol: VolumeFacts, staged: UploadStage, end: number, grow: boolean, ctx: OpContext): Promise<VolumeFacts> {
  if (grow) throw errors.notSupported('an upload into an LV cannot grow it: resize the volume first');
  if (end > vol.capacity) throw errors.invalid(`the upload is ${end} bytes, larger than the volume (${vol.capacity})`);
  const vg = vgOf(def);
  const stage = stageName(vol.name);
  // Past the upload's end the volume reads as zeros, as a file volume grown to its capacity would.
  if (vol.kind !== 'thin') await zeroRange(localStage(staged).access.path, end, vol.capacity);
  const old = `${vol.name}${OLD_SUFFIX}`;
  // A swap cut short by a crash is repaired on the next start (repairUploadSwaps).
  await Reverter.run(ctx.log, async (r) => {
    await lvm.renameLv(vg, vol.name, old);
    r.add(`rename ${vg}/${old} back to ${vol.name}`, () => lvm.renameLv(vg, old, vol.name));
    await lvm.renameLv(vg, stage, vol.name);
  });
  await lvm.changeTags(vg, vol.name, [TAG], [STAGE_TAG]);
  await lvm.removeLv(vg, old);
  return readLvVolume(def, vol.name);
}

export async function discardLvUpload(def: PoolDefinition, vol: VolumeFacts): Promise<void> {
  const name = stageName(vol.name);
  if ((await lvm.lvs(vgOf(def))).some((lv) => lv.name === name && lv.tags.includes(STAGE_TAG))) await lvm.removeLv(vgOf(def), name);
}

const stageName = (volume: string) => `${volume}${STAGE_SUFFIX}`;
