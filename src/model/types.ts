/** Plain types shared by every layer: pool definitions and states, volume facts, jobs. */

/** Pool types kvmpool knows. Only the ones with a registered driver can be defined. */
export const POOL_TYPES = ['dir', 'fs', 'netfs', 'logical', 'disk', 'iscsi', 'scsi', 'rbd'] as const;
export type PoolType = (typeof POOL_TYPES)[number];

/** Pool states: defined but not started, started and healthy, started but with a problem (see `reason`). */
export const POOL_STATES = ['inactive', 'running', 'degraded'] as const;
export type PoolState = (typeof POOL_STATES)[number];

/** Volume formats kvmpool creates, plus `unknown` for files qemu-img cannot identify. */
export const CREATE_FORMATS = ['raw', 'qcow2'] as const;
export type CreateFormat = (typeof CREATE_FORMATS)[number];

/** Preallocation modes (qemu-img's names). `metadata` is qcow2 only. */
export const PREALLOC_MODES = ['off', 'metadata', 'falloc', 'full'] as const;
export type Prealloc = (typeof PREALLOC_MODES)[number];

/** File systems an `fs` pool can make; partition tables a `disk` pool can make. */
export const FS_FORMATS = ['ext4', 'xfs', 'btrfs'] as const;
export type FsFormat = (typeof FS_FORMATS)[number];
export const PARTITION_LABELS = ['gpt', 'dos'] as const;
export type PartitionLabel = (typeof PARTITION_LABELS)[number];

/** Where a block pool's storage comes from (libvirt's `<source>`). */
export interface PoolSource {
  /** Block devices: one for fs and disk, one or more for logical. */
  devices?: string[];
  /** fs: the file system build makes (default ext4). */
  fsFormat?: FsFormat;
  /** disk: the partition table build makes (default gpt). */
  label?: PartitionLabel;
  /** logical: the volume group (default: the pool's name); without devices, an existing one is adopted. */
  vg?: string;
  /** logical: size in bytes of the thin pool build makes; thin volumes need one. */
  thinPool?: number;
  /** logical: grow the thin pool from free space of the VG when it passes its warning threshold. */
  thinAutoExtend?: boolean;
}

/** What a user defines: persisted as-is. */
export interface PoolDefinition {
  name: string;
  type: PoolType;
  /** Where volumes appear on the host: a directory (dir, fs), /dev/VG (logical), /dev (disk). */
  target: string;
  autostart: boolean;
  source?: PoolSource;
}

/** A device of a block pool, with its size and what is still free on it. */
export interface PoolDevice {
  path: string;
  size: number;
  free: number;
}

/** Usage of a logical pool's thin pool. */
export interface ThinPoolUsage {
  name: string;
  size: number;
  dataPercent: number;
  metadataPercent: number;
  /** Sum of the thin volumes' sizes over the thin pool's size. */
  overcommit: number;
}

/** What the host says about a running pool. */
export interface PoolStatus {
  state: PoolState;
  reason?: string;
  capacity: number;
  allocation: number;
  available: number;
  devices?: PoolDevice[];
  thin?: ThinPoolUsage;
  /** disk: ranges not yet partitioned (aligned), where new volumes go. */
  freeExtents?: { start: number; size: number }[];
  /** A degraded pool whose volumes can still be used (a thin pool past its warning threshold). */
  usable?: boolean;
}

/** A pool as the API returns it. */
export interface PoolInfo extends PoolDefinition, PoolStatus {
  built: boolean;
  volumes: number;
}

/** Facts a driver reads from the host about one volume. */
export interface VolumeFacts {
  name: string;
  path: string;
  /** `raw`, `qcow2`, other formats qemu-img reads, or `unknown`. */
  format: string;
  capacity: number;
  allocation: number;
  /** Identity of the file on the host, used to keep a volume's key across outside renames. */
  identity: string;
  /** Changes whenever the volume may have changed (size, times): cached facts are reused while it holds. */
  stamp?: string;
  backingFile?: string;
  /** The backing file's format recorded in the image. */
  backingFormat?: string;
  /** Set when a qcow2's backing file lies outside the pool: listed, flagged, never followed. */
  backingOutsidePool?: boolean;
  snapshots?: number;
  /** What kind of storage holds it, where the pool has several (LVs: linear, striped, raid1, thin). */
  kind?: string;
  /** The format is known (kvmpool recorded it) but qemu-img could not read the image this time. */
  unreadable?: boolean;
  warnings?: string[];
}

/** A volume as the API returns it. */
export interface VolumeInfo extends VolumeFacts {
  pool: string;
  key: string;
  /** True when kvmpool created it; foreign volumes need `force` for destructive operations. */
  managed: boolean;
  created: string;
  features: string[];
  busy?: string;
}

/** Job states. */
export const JOB_STATES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** A long operation, as the API returns it. */
export interface JobInfo {
  id: string;
  kind: string;
  target: string;
  state: JobState;
  progress: { done: number; total: number };
  created: string;
  finished?: string;
  error?: { code: string; message: string; details?: Record<string, unknown> };
  result?: unknown;
}

/** Ways to clone a volume: `auto` picks the cheapest correct one. */
export const CLONE_METHODS = ['auto', 'reflink', 'linked', 'copy'] as const;
export type CloneMethod = (typeof CLONE_METHODS)[number];

/** Ways to wipe a volume. */
export const WIPE_ALGORITHMS = ['zero', 'random', 'discard'] as const;
export type WipeAlgorithm = (typeof WIPE_ALGORITHMS)[number];

/** A snapshot of a volume. */
export interface SnapshotInfo {
  name: string;
  /** ISO time of creation. */
  created: string;
  /** The volume's capacity when the snapshot was taken. */
  capacity: number;
  /** Bytes the snapshot holds on the host, where known (a reflink snapshot shares most of them). */
  allocation?: number;
  /** How the snapshot is kept: qcow2 internal, a reflink copy of a raw file, a thin or copy-on-write LV snapshot. */
  kind: 'internal' | 'reflink' | 'thin' | 'cow';
  /** A copy-on-write snapshot whose room for changes ran out: it can only be deleted. */
  invalid?: boolean;
}
