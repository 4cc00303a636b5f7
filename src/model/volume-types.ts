/** Plain types of volumes and snapshots. */

/** Volume formats kvmpool creates (`unknown` marks files qemu-img cannot identify). */
export const CREATE_FORMATS = ['raw', 'qcow2'] as const;
export type CreateFormat = (typeof CREATE_FORMATS)[number];

/** Preallocation modes (qemu-img's names). `metadata` is qcow2 only. */
export const PREALLOC_MODES = ['off', 'metadata', 'falloc', 'full'] as const;
export type Prealloc = (typeof PREALLOC_MODES)[number];

/** Facts a driver reads from the host about one volume. */
export interface VolumeFacts {
  name: string;
  /** Where it is on the host, for people (a file or device; a protocol volume's name otherwise). Services never open it: they ask the driver for its access. */
  path: string;
  /** `raw`, `qcow2`, other formats qemu-img reads, or `unknown`. */
  format: string;
  capacity: number;
  allocation: number;
  /** Identity of the volume on the host, used to keep its key across outside renames. */
  identity: string;
  /** Changes whenever the volume may have changed (size, times): cached facts are reused while it holds. */
  stamp?: string;
  backingFile?: string;
  /** The backing file's format recorded in the image. */
  backingFormat?: string;
  /** The volume of the same pool the backing file is, as the driver resolved it. */
  backingVolume?: string;
  /** Set when the backing file (or an external data file) lies outside the pool: listed, flagged, never followed. */
  backingOutsidePool?: boolean;
  /**
   * A layered clone (RBD): the image it reads through to, as `pool[/namespace]/image`, followed by the
   * storage itself (never opened by kvmpool); its `backingVolume` when that image is a volume of the pool.
   */
  parent?: string;
  snapshots?: number;
  /** Bytes: the size of the objects the storage keeps the volume in (RBD). */
  objectSize?: number;
  /** What the storage enables on the volume itself (RBD image features: layering, exclusive-lock, object-map, fast-diff, ...). */
  storageFeatures?: string[];
  /** What kind of storage holds it, where the pool has several (LVs: linear, striped, raid1, thin). */
  kind?: string;
  /** The format is known (kvmpool recorded it) but qemu-img could not read the image this time. */
  unreadable?: boolean;
  /** The storage marks it as made by kvmpool: on storage hosts share, another host's kvmpool may have made it (it is managed here too). */
  marked?: boolean;
  warnings?: string[];
}

/** A volume as the API returns it. */
export interface VolumeInfo extends VolumeFacts {
  pool: string;
  key: string;
  /** True when kvmpool created it; foreign volumes need `force` for destructive operations. */
  managed: boolean;
  created: string;
  /** What it can do now (its format, its pool's storage, its state): anything else is refused. */
  features: string[];
  busy?: string;
}

/** Ways to clone besides the instant methods a pool type declares: `auto` picks, `copy` reads the whole volume. */
export const GENERIC_CLONE_METHODS = ['auto', 'copy'] as const;

/** Ways to wipe a volume. */
export const WIPE_ALGORITHMS = ['zero', 'random', 'discard'] as const;
export type WipeAlgorithm = (typeof WIPE_ALGORITHMS)[number];

/** How a snapshot is kept. */
export const SNAPSHOT_KINDS = ['internal', 'reflink', 'thin', 'cow', 'rbd'] as const;

/** A snapshot of a volume. */
export interface SnapshotInfo {
  name: string;
  /** ISO time of creation. */
  created: string;
  /** The volume's capacity when the snapshot was taken. */
  capacity: number;
  /** Bytes the snapshot holds on the host, where known (a reflink snapshot shares most of them). */
  allocation?: number;
  /** How the snapshot is kept: qcow2 internal, a reflink copy of a raw file, a thin or copy-on-write LV snapshot, an RBD image snapshot. */
  kind: (typeof SNAPSHOT_KINDS)[number];
  /** A copy-on-write snapshot whose room for changes ran out: it can only be deleted. */
  invalid?: boolean;
}

/** Most volumes one page of a listing holds. */
export const MAX_PAGE = 10_000;

/** What a download into a file of the host did (the result of its job). */
export interface FileDownload {
  volume: string;
  file: string;
  offset: number;
  length: number;
  format: string;
  /** The content's sha256: always for a copy; for shared blocks only when verified, as they are not read otherwise. */
  sha256?: string;
  /** The content was hashed again as written and matched. */
  verified: boolean;
  dataBytes: number;
  /** The volume's blocks were shared with the file (a reflink), not copied. */
  shared: boolean;
}

/** The device and inode (decimal strings) at which a caller saw a file or directory, so the daemon can tell it sees the same one. */
export interface SeenAs {
  dev: string;
  ino: string;
}
