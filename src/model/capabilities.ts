/** Capabilities as data: what each volume supports, per pool type, format and what the pool's storage can do. */

/**
 * Volume features kvmpool can offer. The API lists the ones a volume supports; the service checks them.
 * `clone` is a full copy (any method that reads the volume); `clone-reflink` shares extents (instant);
 * `clone-linked` makes a qcow2 overlay backed by the volume (instant).
 */
export const VOLUME_FEATURES = ['delete', 'resize', 'shrink', 'rename', 'clone', 'clone-reflink', 'clone-linked', 'snapshot', 'wipe', 'upload', 'download'] as const;
export type VolumeFeature = (typeof VOLUME_FEATURES)[number];

/** Per-format feature lists. Formats not listed support nothing (listed, never changed). */
export type CapabilityTable = Record<string, readonly VolumeFeature[]>;

/** What a pool's storage can do, probed when it starts. */
export interface PoolTraits {
  /** The file system shares extents between files (FICLONE): instant clones and snapshots. */
  reflink: boolean;
  /** Files can be opened with O_DIRECT (copies bypass the page cache). */
  directIO: boolean;
}

/**
 * A driver's capability tables: always, in addition where the storage has reflink, and in addition
 * for volumes of a kind (`byKind`, e.g. thin LVs clone instantly).
 */
export interface Capabilities {
  base: CapabilityTable;
  reflink: CapabilityTable;
  byKind?: CapabilityTable;
}

/** Features of a volume with the given format (and kind) on storage with `traits`, before state-dependent restrictions. */
export function featuresFor(caps: Capabilities, traits: PoolTraits, format: string, kind?: string): VolumeFeature[] {
  const extra = traits.reflink ? (caps.reflink[format] ?? []) : [];
  const ofKind = kind !== undefined ? (caps.byKind?.[kind] ?? []) : [];
  return [...new Set([...(caps.base[format] ?? []), ...extra, ...ofKind])];
}
