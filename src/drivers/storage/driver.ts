import type { CapabilityTable } from '../../model/capabilities.js';
import type { CreateFormat, PoolDefinition, PoolStatus, PoolType, Prealloc, VolumeFacts } from '../../model/types.js';

/** Passed to every driver call: cancellation, a logger, and a progress sink for long work. */
export interface OpContext {
  signal: AbortSignal;
  log: (message: string) => void;
  progress: (done: number, total: number) => void;
}

/** What `createVolume` gets, already validated by the service. */
export interface VolumeSpec {
  name: string;
  format: CreateFormat;
  capacity: number;
  prealloc: Prealloc;
  clusterSize?: number;
  lazyRefcounts?: boolean;
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
  /** Volume features per format. */
  readonly capabilities: CapabilityTable;
  /** Formats `createVolume` accepts. */
  readonly createFormats: readonly CreateFormat[];

  /** Checks a definition's type-specific fields (target, sources); throws INVALID_ARGUMENT. */
  validate(def: PoolDefinition): Promise<PoolDefinition>;
  /** Makes the pool's storage; returns what it created so `delete` can remove exactly that. */
  build(def: PoolDefinition, ctx: OpContext): Promise<string[]>;
  /** Makes the pool usable; refuses when it is not built. */
  start(def: PoolDefinition, ctx: OpContext): Promise<void>;
  /** Makes the pool unusable (unmount, deactivate); volumes stay. */
  stop(def: PoolDefinition, ctx: OpContext): Promise<void>;
  /** Removes what `build` created (`created`); never anything else. */
  delete(def: PoolDefinition, created: string[], ctx: OpContext): Promise<void>;
  /** Health and usage of a started pool. */
  status(def: PoolDefinition): Promise<PoolStatus>;

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
}
