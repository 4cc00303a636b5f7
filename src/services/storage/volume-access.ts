import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { KvmpoolError, errors } from '../../model/errors.js';
import { featuresFor, type PoolTraits, type VolumeFeature } from '../../model/capabilities.js';
import { validateName } from '../../model/names.js';
import type { JobInfo, VolumeFacts, VolumeInfo } from '../../model/types.js';
import type { PoolRecord, VolumeRecord } from '../../state/store.js';
import { storageDriver } from '../../drivers/storage/registry.js';
import type { KnownVolume, OpContext, StorageDriver } from '../../drivers/storage/driver.js';
import type { ServiceContext } from '../context.js';
import { notActive } from './pools.js';

/** What the volume services need to know of VMs (the VM service provides it). */
export interface VmDisks {
  runningVmOf(pool: string, volume: string): string | undefined;
  /** Whether the VM has the volume as a read-only disk. */
  readonlyDisk(vm: string, pool: string, volume: string): boolean;
  /** A VM (running or not) that has the volume as a disk: it may not vanish or change its name under it. */
  definedVmOf(pool: string, volume: string): string | undefined;
  /** Tells the VM's qemu the disk's new size (qemu grows an image file itself). */
  resizeLive(vm: string, pool: string, volume: string, bytes: number): Promise<void>;
  /** Takes or deletes a qcow2 internal snapshot through the VM's qemu, which holds the image. */
  snapshotLive(vm: string, pool: string, volume: string, snapshot: string, remove: boolean): Promise<void>;
}

/** Lock name of one volume. */
export const volumeLock = (pool: string, name: string) => `vol:${pool}/${name}`;

/** Journal kind of a volume being created (by create, clone, copy or upload): its partial file is discarded after a crash. */
export const JOURNAL_CREATE = 'volume.create';
/** Journal kind of a rename (link under the new name, then unlink the old): completed after a crash. */
export const JOURNAL_RENAME = 'volume.rename';

/**
 * What the volume services share: finding pools and volumes, reading them fresh from the host, their
 * features, the in-use checks, and remembering facts in the store. Holds no locks itself.
 */
export class VolumeAccess {
  /** Set by the daemon: which running VM has a volume as a disk, and how to grow it there. */
  vms?: VmDisks;
  private readonly traits = new Map<string, PoolTraits>();
  /** Volume operations running per pool: the pool cannot stop, be deleted or undefined meanwhile. */
  private readonly inFlight = new Map<string, number>();
  /** Pools being stopped, deleted or undefined: no new volume operation starts. */
  private readonly closing = new Set<string>();
  /** Volumes changed while a reconciliation ran (name -> change number); it leaves them as they are. */
  private readonly touched = new Map<string, number>();
  private changes = 0;
  private reconciling = 0;

  constructor(readonly ctx: ServiceContext) {}

  /**
   * A running, healthy pool's record: NOT_FOUND, POOL_NOT_ACTIVE, or POOL_DEGRADED (its storage is
   * missing or unreadable, so nothing in it may be read as gone or changed).
   */
  async activePool(name: string): Promise<PoolRecord> {
    validateName('pool', name);
    const rec = this.ctx.store.getPool(name);
    if (!rec) throw errors.notFound('pool', name);
    if (!rec.active || this.closing.has(name)) throw notActive(name);
    const status = await this.driver(rec).status(rec, false);
    if (status.state === 'degraded' && status.usable !== true) throw new KvmpoolError('POOL_DEGRADED', `pool '${name}' is degraded: ${status.reason ?? 'unknown reason'}`, { pool: name, reason: status.reason });
    if (!this.traits.has(name)) await this.probe(rec);
    if (this.closing.has(name)) throw notActive(name);
    return rec;
  }

  /** Counts a volume operation of a running pool until the returned function is called. */
  enter(pool: string): () => void {
    if (this.closing.has(pool)) throw notActive(pool);
    this.inFlight.set(pool, (this.inFlight.get(pool) ?? 0) + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.inFlight.set(pool, (this.inFlight.get(pool) ?? 1) - 1);
    };
  }

  /** Runs a short volume operation on a running, healthy pool (counted, see `enter`). */
  async inPool<T>(pool: string, work: (rec: PoolRecord) => Promise<T>): Promise<T> {
    const rec = await this.activePool(pool);
    const leave = this.enter(pool);
    try {
      return await work(rec);
    } finally {
      leave();
    }
  }

  /** For stop, delete and undefine: IN_USE while volume operations run; else no new ones start until `reopen`. */
  closePool(pool: string): () => void {
    const running = this.inFlight.get(pool) ?? 0;
    if (running > 0) throw errors.inUse(`pool '${pool}' has ${running} volume operation(s) in progress`, { pool, operations: running });
    this.closing.add(pool);
    return () => this.closing.delete(pool);
  }

  /** Notes that kvmpool changed a volume's record (see `reconcile`). */
  touch(pool: string, name: string): void {
    if (this.reconciling > 0) this.touched.set(`${pool}/${name}`, ++this.changes);
  }

  /** Starts a reconciliation; returns the change number it began at. */
  beginReconcile(): number {
    this.reconciling++;
    return this.changes;
  }

  endReconcile(): void {
    if (--this.reconciling === 0) this.touched.clear();
  }

  /** True when kvmpool changed the volume since change number `since`. */
  touchedSince(pool: string, name: string, since: number): boolean {
    return (this.touched.get(`${pool}/${name}`) ?? 0) > since;
  }

  driver(rec: PoolRecord): StorageDriver {
    return storageDriver(rec.type);
  }

  /** Probes the pool's storage again (on start and refresh). */
  async probe(rec: PoolRecord): Promise<PoolTraits> {
    const t = await this.driver(rec).probe(rec);
    this.traits.set(rec.name, t);
    return t;
  }

  /** The pool's traits from its last probe (none known yet: nothing beyond the base table). */
  traitsOf(rec: PoolRecord): PoolTraits {
    return this.traits.get(rec.name) ?? { reflink: false, directIO: false };
  }

  /**
   * Reads a volume fresh from the host and records it. A reader that does not hold the volume's lock
   * (`owner` false) leaves the store alone while another operation holds it.
   */
  async read(rec: PoolRecord, name: string, owner = true): Promise<VolumeInfo> {
    validateName('volume', name);
    const stored = this.ctx.store.getVolume(rec.name, name);
    const quiet = !owner && this.ctx.locks.holder(volumeLock(rec.name, name)) !== undefined;
    let facts: VolumeFacts;
    try {
      facts = await this.driver(rec).volumeInfo(rec, stored && known(stored), name);
    } catch (e) {
      if (e instanceof KvmpoolError && e.code === 'NOT_FOUND' && stored && !quiet) this.forget(rec, stored);
      throw e;
    }
    if (quiet) return this.describe(rec, stored && stored.facts.identity === facts.identity ? { ...stored, facts } : { key: '', pool: rec.name, name, managed: false, created: '', facts });
    this.touch(rec.name, name);
    return this.describe(rec, this.remember(rec, facts, stored));
  }

  /** Drops a volume's record (it is gone from the host). */
  forget(rec: PoolRecord, v: { key: string; name: string }): void {
    this.ctx.store.deleteVolume(v.key);
    this.touch(rec.name, v.name);
  }

  /** Stores facts under the record they belong to (same file), or as a new foreign volume. */
  remember(rec: PoolRecord, facts: VolumeFacts, stored: VolumeRecord | undefined): VolumeRecord {
    const same = stored && stored.facts.identity === facts.identity;
    const record: VolumeRecord = same
      ? { ...stored, name: facts.name, facts }
      : { key: randomUUID(), pool: rec.name, name: facts.name, managed: false, created: new Date().toISOString(), facts };
    this.ctx.store.putVolume(record);
    return record;
  }

  /**
   * Records new facts of a volume kvmpool just changed, under the same key (its name or its file may be
   * new: a rename, a revert). The caller holds the volume's lock.
   */
  update(rec: PoolRecord, vol: VolumeInfo, facts: VolumeFacts): VolumeInfo {
    const record: VolumeRecord = { key: vol.key, pool: rec.name, name: facts.name, managed: vol.managed, created: vol.created, facts };
    this.ctx.store.putVolume(record);
    this.touch(rec.name, vol.name);
    this.touch(rec.name, facts.name);
    return this.describe(rec, record);
  }

  /** Records a volume kvmpool just made. */
  recordNew(rec: PoolRecord, facts: VolumeFacts): VolumeRecord {
    const record: VolumeRecord = { key: randomUUID(), pool: rec.name, name: facts.name, managed: true, created: new Date().toISOString(), facts };
    this.ctx.store.putVolume(record);
    this.touch(rec.name, facts.name);
    return record;
  }

  describe(rec: PoolRecord, v: VolumeRecord): VolumeInfo {
    const problem = this.chainProblem(rec, v.facts);
    const facts = problem ? { ...v.facts, backingOutsidePool: true, warnings: [...new Set([...(v.facts.warnings ?? []), problem])] } : v.facts;
    const info: VolumeInfo = { ...facts, pool: rec.name, key: v.key, managed: v.managed, created: v.created, features: this.features(rec, facts) };
    const busy = this.ctx.locks.holder(volumeLock(rec.name, v.name));
    if (busy) info.busy = busy;
    return info;
  }

  /**
   * Why opening the volume with its backing chain (as resize, copy or a VM would) could read outside
   * the pool; undefined when every link is a volume of this pool with a recorded, matching format.
   */
  private chainProblem(rec: PoolRecord, facts: VolumeFacts): string | undefined {
    if (!facts.backingFile) return undefined;
    const byPath = new Map(this.ctx.store.listVolumes(rec.name).map((v) => [v.facts.path, v.facts]));
    const seen = new Set<string>();
    for (let cur: VolumeFacts = facts; cur.backingFile; ) {
      const link = `backing file '${cur.backingFile}' of ${cur.name}`;
      if (cur.backingOutsidePool) return `${link} lies outside the pool: not followed`;
      if (!cur.backingFormat) return `${link} has no recorded format: not followed`;
      const next = byPath.get(path.resolve(path.dirname(cur.path), cur.backingFile));
      if (!next) return `${link} is not a volume of the pool: not followed`;
      if (next.format !== cur.backingFormat) return `${link} is recorded as ${cur.backingFormat} but is ${next.format}: not followed`;
      if (seen.has(next.path) || seen.size >= 16) return `the backing chain of ${facts.name} loops or is too long`;
      seen.add(next.path);
      cur = next;
    }
    return undefined;
  }

  private features(rec: PoolRecord, facts: VolumeFacts): VolumeFeature[] {
    let all = featuresFor(this.driver(rec).capabilities, this.traitsOf(rec), facts.format, facts.kind);
    // Anything that opens the image with its backing chain is out for a backing file outside the pool.
    if (facts.backingOutsidePool || facts.unreadable) all = all.filter((f) => f === 'delete' || f === 'rename');
    if (facts.snapshots) all = all.filter((f) => f !== 'shrink');
    return all;
  }

  /** NOT_SUPPORTED unless the volume has `feature`; FOREIGN_VOLUME for destructive work on a volume kvmpool did not create, unless `force`. */
  require(vol: VolumeInfo, feature: VolumeFeature, force: boolean, destructive: boolean): void {
    if (!vol.features.includes(feature)) {
      const why =
        vol.format === 'unknown' ? 'qemu-img cannot identify it, so kvmpool never changes it'
        : vol.backingOutsidePool ? 'its backing file lies outside the pool'
        : `not supported for ${vol.format} volumes in this pool`;
      throw errors.notSupported(`cannot ${feature} ${vol.pool}/${vol.name}: ${why}`, { feature, format: vol.format });
    }
    if (destructive && !vol.managed && !force) throw foreign(vol, feature);
  }

  /**
   * IN_USE when a running VM has the volume as a disk, a process has it open or another volume is backed
   * by it (and, with `checkLock`, when an operation holds it).
   */
  async assertFree(rec: PoolRecord, vol: VolumeInfo, checkLock = false): Promise<void> {
    if (checkLock && vol.busy) throw errors.inUse(`${rec.name}/${vol.name} is busy: ${vol.busy} in progress`, { operation: vol.busy });
    const vm = this.vms?.runningVmOf(rec.name, vol.name);
    if (vm) throw errors.inUse(`${rec.name}/${vol.name} is a disk of running vm ${vm}`, { vm });
    const users = await this.driver(rec).volumeUsers(rec, vol);
    if (users.length > 0) throw errors.inUse(`${rec.name}/${vol.name} is in use by ${users.join(', ')}`, { users });
    const dependents = this.backingUsers(rec, vol);
    if (dependents.length > 0) throw errors.inUse(`${rec.name}/${vol.name} is the backing file of ${dependents.join(', ')}`, { users: dependents });
  }

  /** Volumes of the pool whose backing file is `vol`. */
  backingUsers(rec: PoolRecord, vol: VolumeFacts): string[] {
    return this.ctx.store
      .listVolumes(rec.name)
      .filter((v) => v.facts.backingFile && path.resolve(path.dirname(v.facts.path), v.facts.backingFile) === vol.path)
      .map((v) => `${rec.name}/${v.name}`);
  }

  /**
   * Runs a job on one volume: enters the pool and takes the volume's lock at once (IN_USE when busy),
   * reads the volume and runs `check` (its refusals are answered here, before any job exists), then
   * starts `work` as a job. The lock and the pool entry are held until the job ends.
   */
  async volumeJob<T>(
    pool: string,
    name: string,
    operation: string,
    job: { kind: string; target: string },
    check: (rec: PoolRecord, vol: VolumeInfo) => Promise<void> | void,
    work: (rec: PoolRecord, vol: VolumeInfo, op: OpContext) => Promise<T>,
  ): Promise<{ job: JobInfo; done: Promise<T> }> {
    const rec = await this.activePool(pool);
    const leave = this.enter(pool);
    let release = () => {};
    let vol: VolumeInfo;
    try {
      release = this.ctx.locks.tryAcquire(volumeLock(pool, name), operation, `volume ${pool}/${name}`);
      vol = await this.read(rec, name);
      await check(rec, vol);
    } catch (e) {
      release();
      leave();
      throw e;
    }
    const started = this.ctx.jobs.run(job.kind, job.target, (op) =>
      work(rec, vol!, op).finally(() => {
        release();
        leave();
      }),
    );
    started.done.catch(() => undefined);
    return started;
  }

  /** An operation context for inline (non-job) work. */
  op(): OpContext {
    return { signal: new AbortController().signal, log: this.ctx.log, progress: () => {} };
  }

  /**
   * Runs `work` holding the volume's lock for the whole operation. `wait` queues behind other
   * operations; otherwise a busy volume is IN_USE at once.
   */
  async locked<T>(pool: string, name: string, operation: string, wait: boolean, work: () => Promise<T>): Promise<T> {
    validateName('volume', name);
    const lock = volumeLock(pool, name);
    const release = wait ? await this.ctx.locks.acquire(lock, operation) : this.ctx.locks.tryAcquire(lock, operation, `volume ${pool}/${name}`);
    try {
      return await work();
    } finally {
      release();
    }
  }
}

/** What the store knows of a volume, for the driver. */
export function known(v: VolumeRecord): KnownVolume {
  return { name: v.name, format: v.facts.format, identity: v.facts.identity, facts: v.facts };
}

function foreign(vol: VolumeInfo, verb: string): KvmpoolError {
  return new KvmpoolError('FOREIGN_VOLUME', `${vol.pool}/${vol.name} was not created by kvmpool: pass --force to ${verb} it`, { volume: `${vol.pool}/${vol.name}` });
}
