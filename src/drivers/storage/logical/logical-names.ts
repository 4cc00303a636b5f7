import type { PoolDefinition } from '../../../model/types.js';

/** Tags and names kvmpool gives LVM objects, so it knows its own and never touches the others. */

/** On every VG and LV kvmpool creates (volumes, thin pool, snapshots, upload stages). */
export const TAG = 'kvmpool';
/** On snapshot LVs; with `SNAP_NAME_TAG` + the snapshot's name (LV names of snapshots are generated). */
export const SNAP_TAG = 'kvmpool_snap';
export const SNAP_NAME_TAG = 'kvmpool_snapname:';
/** On an LV an upload is being written to. */
export const STAGE_TAG = 'kvmpool_stage';
/** The thin pool LV of a logical pool. */
export const THIN_POOL = 'thinpool';

export const vgOf = (def: PoolDefinition): string => def.source!.vg!;

/** Whether kvmpool made this LV (a volume, its thin pool, a snapshot, an upload stage). */
export const isOwn = (lv: { tags: string[] }): boolean => lv.tags.some((t) => t === TAG || t === SNAP_TAG || t === STAGE_TAG);
