import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { KvmpoolError, errors } from '../../model/errors.js';
import { featuresFor, type PoolTraits, type VolumeFeature } from '../../model/capabilities.js';
import { validateName } from '../../model/names.js';
import type { VolumeFacts, VolumeInfo } from '../../model/types.js';
import type { PoolRecord, VolumeRecord } from '../../state/store.js';
import { storageDriver } from '../../drivers/storage/registry.js';
import type { KnownVolume, OpContext, StorageDriver } from '../../drivers/storage/driver.js';
import type { ServiceContext } from '../context.js';
import { notActive } from './pools.js';

/** Lock name of one volume. */
export const volumeLock = (pool: string, name: string) => `vol:${pool}/${name}`;

/** Journal kind of a volume being created (by create, clone, copy or upload): its partial file is discarded after a crash. */
export const JOURNAL_CREATE = 'volume.create';

/**
 * What the volume services share: finding pools and volumes, reading them fresh from the host, their
 * features, the in-use checks, and remembering facts in the store. Holds no locks itself.
 */
export class VolumeAccess {
  private readonly traits = new Map<string, PoolTraits>();

  constructor(readonly ctx: ServiceContext) {}

  /** A running pool's record; NOT_FOUND or POOL_NOT_ACTIVE otherwise. */
  activePool(name: string): PoolRecord {
    validateName('pool', name);
    const rec = this.ctx.store.getPool(name);
    if (!rec) throw errors.notFound('pool', name);
    if (!rec.active) throw notActive(name);
    return rec;
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

  /** Reads a volume fresh from the host and records it. */
  async read(rec: PoolRecord, name: string): Promise<VolumeInfo> {
    validateName('volume', name);
    const stored = this.ctx.store.getVolume(rec.name, name);
    let facts: VolumeFacts;
    try {
      facts = await this.driver(rec).volumeInfo(rec, stored && known(stored), name);
    } catch (e) {
      if (e instanceof KvmpoolError && e.code === 'NOT_FOUND' && stored) this.ctx.store.deleteVolume(stored.key);
      throw e;
    }
    return this.describe(rec, this.remember(rec, facts, stored));
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

  /** Records new facts of a volume kvmpool just changed (its file may be a new one, e.g. after a revert). */
  update(rec: PoolRecord, name: string, facts: VolumeFacts): VolumeInfo {
    const stored = this.ctx.store.getVolume(rec.name, name);
    if (!stored) return this.describe(rec, this.remember(rec, facts, undefined));
    const record = { ...stored, name: facts.name, facts };
    this.ctx.store.putVolume(record);
    return this.describe(rec, record);
  }

  /** Records a volume kvmpool just made. */
  recordNew(rec: PoolRecord, facts: VolumeFacts): VolumeRecord {
    const record: VolumeRecord = { key: randomUUID(), pool: rec.name, name: facts.name, managed: true, created: new Date().toISOString(), facts };
    this.ctx.store.putVolume(record);
    return record;
  }

  describe(rec: PoolRecord, v: VolumeRecord): VolumeInfo {
    const info: VolumeInfo = { ...v.facts, pool: rec.name, key: v.key, managed: v.managed, created: v.created, features: this.features(rec, v.facts) };
    const busy = this.ctx.locks.holder(volumeLock(rec.name, v.name));
    if (busy) info.busy = busy;
    return info;
  }

  private features(rec: PoolRecord, facts: VolumeFacts): VolumeFeature[] {
    let all = featuresFor(this.driver(rec).capabilities, this.traitsOf(rec), facts.format);
    // Anything that opens the image with its backing chain is out for a backing file outside the pool.
    if (facts.backingOutsidePool) all = all.filter((f) => f === 'delete' || f === 'rename');
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

  /** IN_USE when a process has the volume open or another volume is backed by it (and, with `checkLock`, when an operation holds it). */
  async assertFree(rec: PoolRecord, vol: VolumeInfo, checkLock = false): Promise<void> {
    if (checkLock && vol.busy) throw errors.inUse(`${rec.name}/${vol.name} is busy: ${vol.busy} in progress`, { operation: vol.busy });
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

  /** An operation context for inline (non-job) work. */
  op(): OpContext {
    return { signal: new AbortController().signal, log: this.ctx.log, progress: () => {} };
  }

  /**
   * Runs `work` holding the volume's lock for the whole operation. `wait` queues behind other
   * operations; otherwise a busy volume is IN_USE at once.
   */
  async locked<T>(pool: string, name: string, operation: string, wait: boolean, work: () => Promise<T>): Promise<T> {
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
  return { name: v.name, format: v.facts.format, identity: v.facts.identity };
}

function foreign(vol: VolumeInfo, verb: string): KvmpoolError {
  return new KvmpoolError('FOREIGN_VOLUME', `${vol.pool}/${vol.name} was not created by kvmpool: pass --force to ${verb} it`, { volume: `${vol.pool}/${vol.name}` });
}
