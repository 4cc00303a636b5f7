import type { LogicalDefinition } from './logical-settings.js';
import { errors } from '../../../model/errors.js';
import { checkLvmName } from '../../../host/lvm.js';

/** Tags and names kvmpool gives LVM objects, so it knows its own and never touches the others. */

/** On every VG and LV kvmpool creates (volumes, thin pool, snapshots, upload stages). */
export const TAG = 'kvmpool';
/** On snapshot LVs; with `SNAP_NAME_TAG` + the snapshot's name (LV names of snapshots are generated). */
export const SNAP_TAG = 'kvmpool_snap';
export const SNAP_NAME_TAG = 'kvmpool_snapname:';
/** On snapshot LVs: the uuid of their volume (a snapshot kept across a revert has no LVM origin any more). */
export const SNAP_OF_TAG = 'kvmpool_snapof:';

/** Whether `lv` is a snapshot kvmpool took of the volume `volume` (an LV name) with uuid `uuid`. */
export const isSnapshotOf = (lv: { tags: string[]; origin?: string }, volume: string, uuid: string): boolean =>
  lv.tags.includes(SNAP_TAG) && (lv.origin === volume || lv.tags.includes(`${SNAP_OF_TAG}${uuid}`));
/** On an LV an upload is being written to. */
export const STAGE_TAG = 'kvmpool_stage';
/** The thin pool LV of a logical pool. */
export const THIN_POOL = 'thinpool';

/** kvmpool's own thin pool: named THIN_POOL, a thin pool, and tagged (an LV of that name someone else made is not). */
export const isOwnThinPool = (lv: { name: string; segtype: string; tags: string[] }): boolean => lv.name === THIN_POOL && lv.segtype === 'thin-pool' && lv.tags.includes(TAG);

/** The pool's volume group (validate names it: the pool's name unless given). */
export const vgOf = (def: LogicalDefinition): string => def.source.vg ?? def.name;

/** Whether kvmpool made this LV (a volume, its thin pool, a snapshot, an upload stage). */
export const isOwn = (lv: { tags: string[] }): boolean => lv.tags.some((t) => t === TAG || t === SNAP_TAG || t === STAGE_TAG);

/** Name endings kvmpool gives its own temporary LVs (an upload being written, a volume being replaced). */
export const STAGE_SUFFIX = '_kvmpool_upload';
export const OLD_SUFFIX = '_kvmpool_old';

/** A volume name LVM accepts and that is not one of kvmpool's temporary names. */
export function checkVolumeLvName(name: string): string {
  checkLvmName('volume', name);
  if (name.endsWith(STAGE_SUFFIX) || name.endsWith(OLD_SUFFIX)) throw errors.invalid(`volume names ending in ${STAGE_SUFFIX} or ${OLD_SUFFIX} are kvmpool's own`, { name });
  return name;
}
