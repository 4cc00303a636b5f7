import type { OpContext } from '../../model/op-context.js';
export type { OpContext };
import type { Capabilities, PoolTraits } from '../../model/capabilities.js';
import type { Extent } from '../../transfer/sparse-reader.js';
import type { CreateFormat, PoolDefinition, PoolStatus, PoolType, Prealloc, SnapshotInfo, ThinPoolUsage, VolumeFacts, WipeAlgorithm } from '../../model/types.js';


/** What `createVolume` gets, already validated by the service. */
export interface VolumeSpec {
  name: string;
  format: CreateFormat;
  capacity: number;
  prealloc: Prealloc;
  clusterSize?: number;
  lazyRefcounts?: boolean;
  /** Logical pools: a thin volume (in the pool's thin pool), striped over `stripes` devices, or raid1 with `mirrors` copies besides the first. */
  thin?: boolean;
  stripes?: number;
  stripeSize?: number;
  mirrors?: number;
}

/** What a volume is known as before the driver looks at it again (from the store). */
export interface KnownVolume {
  name: string;
  format: string;
  identity: string;
  /** The facts last read; a listing may reuse them while the volume's `stamp` is unchanged. */
  facts?: VolumeFacts;
}

/**
 * A storage pool driver: knows the host, never the database or HTTP.
 *
 * Contracts: the service validates input, holds the locks and records state; a driver call that fails
 * leaves the host as it found it (it cleans up its own partial work). Drivers never remove storage that
 * the service did not name.
 */
export interface StorageDriver {
  readonly type: PoolType;
  /** Volume features per format, and what reflink storage adds. */
  readonly capabilities: Capabilities;
  /** Formats `createVolume` accepts. */
  readonly createFormats: readonly CreateFormat[];
  /** Whether volumes can be listed while the pool is stopped (a dir can; an unmounted fs cannot). */
  readonly listsWhenStopped: boolean;

  /** Checks a definition's type-specific fields (target, sources); throws INVALID_ARGUMENT. */
  validate(def: PoolDefinition): Promise<PoolDefinition>;
  /**
   * Makes the pool's storage; returns what it created so `delete` can remove exactly that. A device
   * that already carries data (a file system, partition table, LVM signature) is refused with
   * DEVICE_NOT_EMPTY unless `overwrite`.
   */
  build(def: PoolDefinition, ctx: OpContext, options?: BuildOptions): Promise<string[]>;
  /** Makes the pool usable; refuses when it is not built. */
  start(def: PoolDefinition, ctx: OpContext): Promise<void>;
  /** Makes the pool unusable (unmount, deactivate); volumes stay. */
  stop(def: PoolDefinition, ctx: OpContext): Promise<void>;
  /** Removes what `build` created (`created`); never anything else. */
  delete(def: PoolDefinition, created: string[], ctx: OpContext): Promise<void>;
  /** Periodic care of a running pool (logical: the thin pool's fill level, and its growth when asked). */
  maintain?(def: PoolDefinition): Promise<MaintenanceReport | undefined>;
  /** Adds a device to the pool's storage (logical: vgextend). */
  extendPool?(def: PoolDefinition, device: string, ctx: OpContext): Promise<void>;
  /** Checks that a device can leave the pool (its data fits elsewhere); throws the reason. */
  checkShrink?(def: PoolDefinition, device: string): Promise<void>;
  /** Moves the data off a device, online, and removes it from the pool (logical: pvmove, vgreduce). */
  shrinkPool?(def: PoolDefinition, device: string, ctx: OpContext): Promise<void>;
  /** Health and usage of a started pool; without `detail` only what says whether it is usable (cheap, checked per operation). */
  status(def: PoolDefinition, detail?: boolean): Promise<PoolStatus>;
  /** What the started pool's storage can do (reflink, O_DIRECT). */
  probe(def: PoolDefinition): Promise<PoolTraits>;

  /** Reads all volumes; `known` keeps formats recorded by kvmpool so they are never re-guessed. */
  listVolumes(def: PoolDefinition, known: ReadonlyMap<string, KnownVolume>): Promise<VolumeFacts[]>;
  /** Reads one volume; NOT_FOUND when it is gone. */
  volumeInfo(def: PoolDefinition, known: KnownVolume | undefined, name: string): Promise<VolumeFacts>;
  createVolume(def: PoolDefinition, spec: VolumeSpec, ctx: OpContext): Promise<VolumeFacts>;
  deleteVolume(def: PoolDefinition, vol: VolumeFacts, ctx: OpContext): Promise<void>;
  resizeVolume(def: PoolDefinition, vol: VolumeFacts, capacity: number, shrink: boolean, ctx: OpContext): Promise<VolumeFacts>;
  renameVolume(def: PoolDefinition, vol: VolumeFacts, newName: string, ctx: OpContext): Promise<VolumeFacts>;
  /** Host processes that hold this volume open (a VM, a copy); empty when free. */
  volumeUsers(def: PoolDefinition, vol: VolumeFacts): Promise<string[]>;
  /** Removes what a create interrupted by a crash left behind (called from the journal on start). */
  discardPartial(def: PoolDefinition, name: string): Promise<void>;
  /** Completes a rename interrupted by a crash (called from the journal on start). */
  finishRename(def: PoolDefinition, from: string, to: string): Promise<void>;

  /** An instant clone inside the pool: shared extents (`reflink`) or a qcow2 overlay (`linked`). */
  cloneVolume(def: PoolDefinition, source: VolumeFacts, target: CloneTarget, method: 'reflink' | 'linked', ctx: OpContext): Promise<VolumeFacts>;
  /** A full, sparse-preserving copy of `source` (any pool, any format qemu-img reads) into a new volume. */
  copyVolume(def: PoolDefinition, source: CopySource, target: CloneTarget, traits: PoolTraits, ctx: OpContext): Promise<VolumeFacts>;

  listSnapshots(def: PoolDefinition, vol: VolumeFacts): Promise<SnapshotInfo[]>;
  /** `size`: room of a copy-on-write snapshot (logical pools; a thin snapshot needs none). */
  createSnapshot(def: PoolDefinition, vol: VolumeFacts, name: string, ctx: OpContext, options?: { size?: number }): Promise<SnapshotInfo>;
  /** Makes the volume's content the snapshot's again; the snapshot stays. */
  revertSnapshot(def: PoolDefinition, vol: VolumeFacts, name: string, ctx: OpContext): Promise<VolumeFacts>;
  deleteSnapshot(def: PoolDefinition, vol: VolumeFacts, name: string, ctx: OpContext): Promise<void>;

  /** Where the volume's data is (the rest reads as zeros), so transfers skip holes. */
  dataExtents(def: PoolDefinition, vol: VolumeFacts): Promise<Extent[]>;
  /** Where a whole-volume upload is staged: written by the service, then given to `commitUpload` or `discardUpload`. */
  uploadStage(def: PoolDefinition, vol: VolumeFacts): Promise<UploadStage>;
  /** Validates a staged upload that ends at byte `end` and makes it the volume's content. */
  commitUpload(def: PoolDefinition, vol: VolumeFacts, staged: string, end: number, grow: boolean): Promise<VolumeFacts>;
  /** Removes a staged upload that failed or was cancelled. */
  discardUpload(def: PoolDefinition, vol: VolumeFacts, staged: string): Promise<void>;

  /** Overwrites the volume's content (zeros, random bytes, or discarded blocks); `verify` reads it back. */
  wipeVolume(def: PoolDefinition, vol: VolumeFacts, algorithm: WipeAlgorithm, verify: boolean, ctx: OpContext): Promise<VolumeFacts>;
}

/** A staged upload: a file to create (`create`), or storage the driver made; holes need zeros unless it reads as zeros. */
export interface UploadStage {
  path: string;
  create: boolean;
  zeroHoles: boolean;
}

/** What `maintain` found and did. */
export interface MaintenanceReport {
  /** Past the warning threshold: why. */
  warning?: string;
  /** Bytes the thin pool grew by. */
  extended?: number;
  thin?: ThinPoolUsage;
}

/** How to build: `built` is what an earlier build returned (a second build of that is harmless). */
export interface BuildOptions {
  overwrite?: boolean;
  built?: string[] | null;
}

/** Where a clone or copy goes: a new volume of the pool. */
export interface CloneTarget {
  name: string;
  format: CreateFormat;
}

/** What a copy reads: a volume's path and format (and size, for progress). */
export interface CopySource {
  path: string;
  format: string;
  capacity: number;
}
