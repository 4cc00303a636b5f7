import { randomBytes } from 'node:crypto';
import { KvmpoolError, errors } from '../../../model/errors.js';
import type { SnapshotInfo, VolumeFacts } from '../../../model/volume-types.js';
import type { LogicalDefinition as PoolDefinition } from './logical-settings.js';
import { Reverter } from '../../../model/reverter.js';
import * as lvm from '../../../host/lvm.js';
import type { LvInfo } from '../../../host/lvm.js';
import type { OpContext } from '../driver.js';
import { isSnapshotOf, SNAP_NAME_TAG, SNAP_OF_TAG, SNAP_TAG, TAG, vgOf } from './logical-names.js';

/**
 * LV snapshots: thin snapshots of thin volumes (instant, no size) and classic copy-on-write snapshots
 * with a size. A snapshot LV gets a generated name and carries the snapshot's name in a tag, so a
 * volume can be renamed without touching its snapshots.
 */

/** ISO time from LVM's `2026-11-21 19:41:42 +0000`. */
function lvTime(text: string): string {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) ([+-]\d\d)(\d\d)$/.exec(text);
  return m ? new Date(`${m[1]}T${m[2]}${m[3]}:${m[4]}`).toISOString() : '';
}

const nameOf = (lv: LvInfo) => lv.tags.find((t) => t.startsWith(SNAP_NAME_TAG))?.slice(SNAP_NAME_TAG.length) ?? lv.name;

async function snapshotLvs(def: PoolDefinition, vol: VolumeFacts): Promise<LvInfo[]> {
  return (await lvm.lvs(vgOf(def))).filter((lv) => isSnapshotOf(lv, vol.name, vol.identity));
}

/** A snapshot's facts; `capacity` is its volume's (a copy-on-write LV's own size is its room for changes). */
function info(lv: LvInfo, capacity: number): SnapshotInfo {
  const thin = lv.segtype === 'thin';
  return {
    name: nameOf(lv),
    created: lvTime(lv.created),
    capacity: thin ? lv.size : capacity,
    ...(thin ? { allocation: Math.round((lv.size * (lv.dataPercent ?? 0)) / 100) } : {}),
    kind: thin ? 'thin' : 'cow',
    ...(lv.invalid ? { invalid: true } : {}),
  };
}

export async function listLvSnapshots(def: PoolDefinition, vol: VolumeFacts): Promise<SnapshotInfo[]> {
  return (await snapshotLvs(def, vol)).map((lv) => info(lv, vol.capacity)).sort((a, b) => a.created.localeCompare(b.created));
}

async function find(def: PoolDefinition, vol: VolumeFacts, name: string): Promise<LvInfo> {
  const lv = (await snapshotLvs(def, vol)).find((s) => nameOf(s) === name);
  if (!lv) throw errors.notFound('snapshot', `${def.name}/${vol.name}@${name}`);
  return lv;
}

/** Takes a snapshot: thin for a thin volume without `size`, copy-on-write with room for `size` bytes of changes otherwise. */
export async function createLvSnapshot(def: PoolDefinition, vol: VolumeFacts, name: string, size: number | undefined, ctx: OpContext): Promise<SnapshotInfo> {
  lvm.checkLvmName('snapshot', name);
  if (size === undefined && vol.kind !== 'thin') throw errors.invalid(`a snapshot of ${vol.kind ?? 'this'} volume ${vol.name} is copy-on-write: give its size (--size)`);
  if ((await snapshotLvs(def, vol)).some((s) => nameOf(s) === name)) throw errors.exists('snapshot', `${def.name}/${vol.name}@${name}`);
  const lvName = `ksnap_${randomBytes(6).toString('hex')}`;
  const vg = vgOf(def);
  await Reverter.run(ctx.log, async (r) => {
    await lvm.snapshotLv(vg, vol.name, lvName, size, TAG);
    r.add(`remove snapshot LV ${vg}/${lvName}`, () => lvm.removeLv(vg, lvName));
    await lvm.changeTags(vg, lvName, [SNAP_TAG, `${SNAP_NAME_TAG}${name}`, `${SNAP_OF_TAG}${vol.identity}`], [TAG]);
  });
  return info(await find(def, vol, name), vol.capacity);
}

/**
 * Makes the volume's content the snapshot's: LVM merges the snapshot into its origin (consuming it),
 * then the snapshot is taken again under the same name, so it stays as the contract says.
 */
export async function revertLvSnapshot(def: PoolDefinition, vol: VolumeFacts, name: string, ctx: OpContext): Promise<void> {
  const lv = await find(def, vol, name);
  if (lv.invalid) {
    throw new KvmpoolError('INVALID_ARGUMENT', `snapshot ${vol.name}@${name} ran out of its ${lv.size} bytes of room for changes and is no longer valid: delete it`, { snapshot: name });
  }
  if (lv.segtype === 'thin') {
    // The snapshot's copy is taken first (a thin snapshot of it), so a failure never loses it.
    const copy = `ksnap_${randomBytes(6).toString('hex')}`;
    const vg = vgOf(def);
    await Reverter.run(ctx.log, async (r) => {
      await lvm.snapshotLv(vg, lv.name, copy, undefined, SNAP_TAG);
      r.add(`remove the snapshot's copy ${vg}/${copy}`, () => lvm.removeLv(vg, copy));
      await lvm.changeTags(vg, copy, [`${SNAP_OF_TAG}${vol.identity}`], []);
      await lvm.mergeSnapshot(vg, lv.name);
    });
    // The copy's origin was the merged snapshot: it is now a snapshot of the volume by content, kept under the name.
    await lvm.changeTags(vgOf(def), copy, [`${SNAP_NAME_TAG}${name}`], []);
    return;
  }
  // A copy-on-write snapshot cannot be copied: it is merged, then taken again with the same room.
  await lvm.mergeSnapshot(vgOf(def), lv.name);
  await createLvSnapshot(def, vol, name, lv.size, ctx);
}

export async function deleteLvSnapshot(def: PoolDefinition, vol: VolumeFacts, name: string): Promise<void> {
  await lvm.removeLv(vgOf(def), (await find(def, vol, name)).name);
}
