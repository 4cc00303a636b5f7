import type { Static, TObject } from 'typebox';
import type { AccessInfo, LocalAccess } from '../../model/access.js';
import type { CapabilityTable, PoolTraits } from '../../model/capabilities.js';
import type { OpContext } from '../../model/op-context.js';
import type { PoolDefinition, PoolSource, PoolStatus, ThinPoolUsage } from '../../model/pool-types.js';
import type { CreateFormat, Prealloc, SnapshotInfo, VolumeFacts, WipeAlgorithm } from '../../model/volume-types.js';
import type { Extent } from '../../transfer/sparse-reader.js';

export type { OpContext };

/**
 * A storage pool type: everything about it lives in its folder and this declaration; the registry
 * (registry.ts) lists it. The API, the store and the CLI learn its settings from `source`, the
 * service checks `capabilities` before calling a verb, and a verb group the type lacks is absent.
 */
export interface StorageType<N extends string = string, S extends TObject = TObject, O extends TObject = TObject> {
  name: N;
  /** One line for people (CLI help, the storage-types listing). */
  summary: string;
  /** The pool's settings (`source` in the API and the store). Fields named in `secrets` are write-only. */
  source: S;
  secrets: readonly (keyof Static<S> & string)[];
  /** Volume create options of this type (`thin`, `stripes`, ...). */
  volumeOptions: O;
  /**
   * CLI flags of fields whose flag is not their name in kebab case (`fsFormat` is --fs-format), by
   * field. A secret field `x` is read from the file given as --x-file (`-`: standard input).
   */
  flags?: Readonly<Record<string, string>>;
  /** Whether the user gives the target directory (`directory`) or the type derives it (/dev/VG). */
  target: 'directory' | 'derived';
  capabilities: CapabilityTable;
  driver: StorageDriver<Static<S>, Static<O>>;
  /** Discovery (`pool sources`): what storage of this type a server or the host offers. */
  sources?: SourceDiscovery;
}

/** How a type finds what it could be defined on (libvirt's find-storage-pool-sources). */
export interface SourceDiscovery<Q extends TObject = TObject> {
  /** What a search takes (the server to ask, credentials); fields named in `secrets` are write-only. */
  query: Q;
  secrets: readonly string[];
  /** Asks, within a time limit; each source found is settings `pool define` takes. `secrets` holds each secret's file. */
  find(query: Static<Q>, secrets: Record<string, string>, ctx: OpContext): Promise<FoundSource[]>;
}

/** A source discovery found: the settings of a pool on it, and what else is known of it, for people. */
export interface FoundSource {
  source: Record<string, unknown>;
  details: string;
}

/** A storage type of any settings, as the registry and services hold them (its settings were checked against its schema). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStorageType = Omit<StorageType, 'driver' | 'secrets' | 'sources'> & { secrets: readonly string[]; driver: StorageDriver<any, any>; sources?: SourceDiscovery<any> };

/** A pool's volumes by name, read a slice at a time (see StorageDriver.scan). */
export interface VolumeScan {
  names: readonly string[];
  /** Reads the named volumes; `known` as for listVolumes. A volume gone since the names were taken is left out. */
  read(names: readonly string[], known: ReadonlyMap<string, KnownVolume>): Promise<VolumeFacts[]>;
}

/** A running watch of a pool's volumes. */
export interface VolumeWatch {
  close(): void;
  /** False when what is watched is no longer the pool's storage (its directory was removed, replaced or mounted over). */
  intact(): Promise<boolean>;
  /** A watch that polls looks now, and reports what it finds before it resolves (a listing waits for it). */
  settle?(): Promise<void>;
}

/** Where a pool's change signal reports (see StorageDriver.watch). */
export interface WatchSignal {
  /** `entry`: the volumes came, went or were replaced; `content`: they were written. */
  changed(names: readonly string[], what: 'entry' | 'content'): void;
  lost(reason: string): void;
}

/**
 * What a pool type does on the host. It knows the host, never the database or HTTP.
 *
 * Contracts: the service validates input against the type's schema, checks capabilities, holds the
 * locks and records state; a driver call that fails leaves the host as it found it (it reverts its
 * own partial work); drivers never remove storage that the service did not name.
 *
 * Lifecycle, listing and access are always there; every other group is optional and absent when the
 * type cannot do it (the service answers NOT_SUPPORTED from the capability table).
 */
export interface StorageDriver<S = PoolSource, O = Record<string, unknown>> {
  /** Whether volumes can be listed while the pool is stopped (a dir can; an unmounted fs cannot). */
  readonly listsWhenStopped: boolean;

  /** Checks the settings beyond their schema (paths, devices) and fills in defaults and the target; throws INVALID_ARGUMENT. */
  validate(def: PoolDefinition<S>): Promise<PoolDefinition<S>>;
  /** What of the host the pool takes: no two pools may share a device or a name, or nest their directories. */
  resources(def: PoolDefinition<S>): PoolResources;
  /**
   * Whether `device` (a device another pool is defined on) is one of this pool's volumes, running or
   * not (an iscsi pool's LUN under a logical pool): that pool then needs this one running.
   */
  provides?(def: PoolDefinition<S>, device: string): Promise<boolean>;
  /**
   * Makes the pool's storage; returns what it created so `delete` can remove exactly that. A device
   * that already carries data is refused with DEVICE_NOT_EMPTY unless `overwrite`.
   */
  build(def: PoolDefinition<S>, ctx: OpContext, options?: BuildOptions): Promise<string[]>;
  /** Makes the pool usable; refuses when it is not built. */
  start(def: PoolDefinition<S>, ctx: OpContext): Promise<void>;
  /** Makes the pool unusable (unmount, deactivate); volumes stay. */
  stop(def: PoolDefinition<S>, ctx: OpContext): Promise<void>;
  /** Removes what `build` created (`created`); never anything else. */
  delete(def: PoolDefinition<S>, created: string[], ctx: OpContext): Promise<void>;
  /** Health and usage of a started pool; without `detail` only what says whether it is usable (cheap, checked per operation). */
  status(def: PoolDefinition<S>, detail?: boolean): Promise<PoolStatus>;
  /** What the started pool's storage can do (reflink, O_DIRECT). */
  probe(def: PoolDefinition<S>): Promise<PoolTraits>;
  /**
   * Removes what a stopped pool may still hold on the host, kept from a start cut short by a crash or
   * from before a reboot (iscsi: sessions, node records and their secrets). Harmless when there is nothing.
   */
  forget?(def: PoolDefinition<S>): Promise<void>;
  /** Looks for storage added or grown since start (a SCSI rescan); on `pool refresh` only, as it may take a while. */
  rescan?(def: PoolDefinition<S>): Promise<void>;
  /** Periodic care of a running pool (logical: the thin pool's fill level, and its growth when asked). */
  maintain?(def: PoolDefinition<S>): Promise<MaintenanceReport | undefined>;

  /** Reads all volumes; `known` keeps formats recorded by kvmpool so they are never re-guessed. */
  listVolumes(def: PoolDefinition<S>, known: ReadonlyMap<string, KnownVolume>): Promise<VolumeFacts[]>;
  /**
   * Lists the volumes in two steps, for pools too large to hold read at once (100,000 files): their
   * names, cheaply, then a slice of them at a time. Types without it are read whole by listVolumes.
   */
  scan?(def: PoolDefinition<S>): Promise<VolumeScan>;
  /**
   * Tells of changes others make to the pool's volumes (inotify on a directory), so listings answer
   * from the store: `changed` names volumes to read again; `lost` says the signal can no longer be
   * trusted (the watch ended or overflowed). Types without it are read whole on every listing.
   */
  watch?(def: PoolDefinition<S>, signal: WatchSignal): Promise<VolumeWatch>;
  /**
   * Reads the named volumes together (a remote storage: one connection for all); a volume gone is left
   * out. Types without it read them one by one with volumeInfo.
   */
  readVolumes?(def: PoolDefinition<S>, names: readonly string[], known: ReadonlyMap<string, KnownVolume>): Promise<VolumeFacts[]>;
  /** Reads one volume; NOT_FOUND when it is gone. */
  volumeInfo(def: PoolDefinition<S>, known: KnownVolume | undefined, name: string): Promise<VolumeFacts>;
  /** Host processes that hold this volume open (a VM, a copy); empty when free. */
  volumeUsers(def: PoolDefinition<S>, vol: VolumeFacts): Promise<string[]>;
  /**
   * Storage several hosts share, where a volume is usable on one host at a time (a shared VG's LV is
   * activated exclusively): `claim` makes it usable here before a VM or a job uses its bytes, IN_USE
   * naming the host that has it; true when this call claimed it (the caller then releases it after
   * use). `release` gives it up (it stays while something here has it open). Types without them are
   * always usable.
   */
  claim?(def: PoolDefinition<S>, vol: VolumeFacts): Promise<boolean>;
  release?(def: PoolDefinition<S>, vol: VolumeFacts): Promise<void>;
  /** How the volume's bytes are reached (a file, a device, a protocol), for transfers, copies and VMs. */
  access(def: PoolDefinition<S>, vol: VolumeFacts, traits: PoolTraits): AccessInfo;

  /** Create and delete (features `delete`, and creating volumes of `formats`). */
  volumes?: {
    readonly formats: readonly CreateFormat[];
    create(def: PoolDefinition<S>, spec: VolumeSpec<O>, ctx: OpContext): Promise<VolumeFacts>;
    /** `force`: the user insisted (a type that keeps snapshots apart removes them too, rather than refusing). */
    delete(def: PoolDefinition<S>, vol: VolumeFacts, ctx: OpContext, options?: { force?: boolean }): Promise<void>;
    /**
     * Deletes a volume other volumes still read through (an RBD parent of layered clones): it leaves
     * the listing now, and the storage is freed once the last of them is gone (see `maintain`).
     */
    defer?(def: PoolDefinition<S>, vol: VolumeFacts, ctx: OpContext): Promise<void>;
    /** Removes what a create cut short by a crash left behind (from the journal, on start). */
    discardPartial?(def: PoolDefinition<S>, name: string): Promise<void>;
  };
  /** Features `resize` (grow) and `shrink`. */
  resize?: {
    resize(def: PoolDefinition<S>, vol: VolumeFacts, capacity: number, shrink: boolean, ctx: OpContext): Promise<VolumeFacts>;
  };
  /** Feature `rename`. */
  rename?: {
    rename(def: PoolDefinition<S>, vol: VolumeFacts, newName: string, ctx: OpContext): Promise<VolumeFacts>;
    /** Completes a rename cut short by a crash (from the journal, on start). */
    finish?(def: PoolDefinition<S>, from: string, to: string): Promise<void>;
  };
  /** Features `snapshot` and `revert`. */
  snapshots?: {
    /** The storage takes and deletes snapshots of a volume in use safely (RBD: the lock holder does it); else it must be free. */
    readonly whileInUse?: boolean;
    list(def: PoolDefinition<S>, vol: VolumeFacts): Promise<SnapshotInfo[]>;
    /** `size`: room of a copy-on-write snapshot (where the type has them). */
    create(def: PoolDefinition<S>, vol: VolumeFacts, name: string, ctx: OpContext, options: { size?: number }): Promise<SnapshotInfo>;
    /** Makes the volume's content the snapshot's again; the snapshot stays. */
    revert(def: PoolDefinition<S>, vol: VolumeFacts, name: string, ctx: OpContext): Promise<VolumeFacts>;
    delete(def: PoolDefinition<S>, vol: VolumeFacts, name: string, ctx: OpContext): Promise<void>;
  };
  /** Instant clones inside the pool, by method name (feature `clone-NAME`), in the order `auto` tries them. */
  clones?: Readonly<Record<string, CloneMethod<S>>>;
  /** A full copy into a new volume of this pool, from any volume qemu-img reads (the target side of feature `clone`). */
  copy?: {
    copyInto(def: PoolDefinition<S>, source: CopySource, target: CloneTarget, traits: PoolTraits, ctx: OpContext): Promise<VolumeFacts>;
  };
  /** Features `upload` and `download`. */
  transfers?: {
    /** Where the volume's data is (the rest reads as zeros), so transfers skip holes. */
    dataExtents(def: PoolDefinition<S>, vol: VolumeFacts): Promise<Extent[]>;
    /**
     * Reads `[offset, offset + length)` of a volume that is no local file or device (an RBD image) as
     * sparse-stream frames, the end frame with the content's sha256 (local volumes are read by the service).
     */
    read?(def: PoolDefinition<S>, vol: VolumeFacts, offset: number, length: number, options: { signal?: AbortSignal; onProgress?: (done: number) => void }): AsyncGenerator<Buffer>;
    /** Where a whole-volume upload is staged: written by the service, then given to `commit` or `discard`. */
    stage(def: PoolDefinition<S>, vol: VolumeFacts): Promise<UploadStage>;
    /** Validates a staged upload that ends at byte `end` and makes it the volume's content. */
    commit(def: PoolDefinition<S>, vol: VolumeFacts, stage: UploadStage, end: number, grow: boolean, ctx: OpContext): Promise<VolumeFacts>;
    /** Removes a staged upload that failed or was cancelled. */
    discard(def: PoolDefinition<S>, vol: VolumeFacts, stage: UploadStage): Promise<void>;
  };
  /** Feature `wipe`: overwrites the content (zeros, random bytes, or discarded blocks); `verify` reads it back. */
  wipe?: {
    wipe(def: PoolDefinition<S>, vol: VolumeFacts, algorithm: WipeAlgorithm, verify: boolean, ctx: OpContext): Promise<VolumeFacts>;
  };
  /** Feature `flatten`: a layered clone gets its own copy of what it read through to (its parent stays). */
  flatten?: {
    flatten(def: PoolDefinition<S>, vol: VolumeFacts, ctx: OpContext): Promise<VolumeFacts>;
  };
  /** The pool grows and shrinks by devices (logical: vgextend, pvmove + vgreduce). */
  devices?: {
    /** Adds the device; returns the settings that now name it. */
    extend(def: PoolDefinition<S>, device: string, ctx: OpContext): Promise<S>;
    /** Checks that a device can leave the pool (its data fits elsewhere); throws the reason. */
    checkShrink(def: PoolDefinition<S>, device: string): Promise<void>;
    /** Moves the data off a device, online, and removes it from the pool; returns the settings without it. */
    shrink(def: PoolDefinition<S>, device: string, ctx: OpContext): Promise<S>;
  };
}

/** Host resources a pool takes (devices and names by equality, directories by nesting). */
export interface PoolResources {
  directories?: string[];
  devices?: string[];
  /** Names in a namespace of the host, as `KIND:NAME` (`vg:vg0`). */
  names?: string[];
}

/** An instant clone method a pool type declares (reflink, linked, a thin snapshot, RBD layering...). */
export interface CloneMethod<S = PoolSource> {
  /** What it does, for people. */
  summary: string;
  /** The clone's format: the source's, or the one the method makes (a linked clone is a qcow2 overlay). */
  format: 'source' | CreateFormat;
  clone(def: PoolDefinition<S>, source: VolumeFacts, target: CloneTarget, ctx: OpContext): Promise<VolumeFacts>;
}

/** What `create` gets, already validated by the service; `options` are the type's volume options. */
export interface VolumeSpec<O = Record<string, unknown>> {
  name: string;
  format: CreateFormat;
  capacity: number;
  prealloc: Prealloc;
  clusterSize?: number;
  lazyRefcounts?: boolean;
  options: O;
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
 * A staged upload: local storage to write (a file to create, or storage the driver made; holes need
 * zeros unless it reads as zeros), or storage written through the driver's writer (an RBD image,
 * which reads as zeros where nothing is written).
 */
export type UploadStage = LocalStage | WriterStage;

export interface LocalStage {
  access: LocalAccess;
  create: boolean;
  zeroHoles: boolean;
}

/** The local storage of a stage a driver made itself (its own stages are local). */
export function localStage(s: UploadStage): LocalStage {
  if (!('access' in s)) throw new Error('a staged upload written through a writer where a local one was made');
  return s;
}

export interface WriterStage {
  open(signal: AbortSignal): Promise<StageWriter>;
}

/** Writes a staged upload that is not a local file: data at offsets, holes left unwritten. */
export interface StageWriter {
  write(offset: number, data: Buffer): Promise<void>;
  /** Hands on what was gathered (before a hole, and at the end). */
  flush(): Promise<void>;
  /** Completes the writing; what was written is then stored. */
  close(): Promise<void>;
  /** Stops writing (a failure or a cancel); the stage is discarded after. */
  abort(): Promise<void>;
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

/** What a copy reads: any volume, through its access, with its format (and size, for progress). */
export interface CopySource {
  access: AccessInfo;
  format: string;
  capacity: number;
}
