import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { KvmpoolError, errors } from '../../model/errors.js';
import { featuresFor, type VolumeFeature } from '../../model/capabilities.js';
import { validateName } from '../../model/names.js';
import { parseSize, roundUp } from '../../model/sizes.js';
import { CREATE_FORMATS, PREALLOC_MODES, type CreateFormat, type JobInfo, type Prealloc, type VolumeFacts, type VolumeInfo } from '../../model/types.js';
import type { PoolRecord, VolumeRecord } from '../../state/store.js';
import { storageDriver } from '../../drivers/storage/registry.js';
import type { KnownVolume, OpContext, StorageDriver, VolumeSpec } from '../../drivers/storage/driver.js';
import type { ServiceContext } from '../context.js';
import { Reverter } from '../reverter.js';
import { notActive } from './pools.js';

/** What `create` accepts (sizes as bytes or strings like `10G`). */
export interface CreateVolumeInput {
  name: string;
  capacity: number | string;
  format?: string;
  prealloc?: string;
  clusterSize?: number | string;
  lazyRefcounts?: boolean;
}

/** A create either finished at once or runs as a job (preallocation writes the whole volume). */
export type CreateOutcome = { volume: VolumeInfo } | { job: JobInfo };

/** Lock name of one volume. */
const volumeLock = (pool: string, name: string) => `vol:${pool}/${name}`;

const JOURNAL_CREATE = 'volume.create';

/** Volumes of running pools: list, info, create, delete, resize, rename; and reconciliation with the host. */
export class VolumeService {
  constructor(private readonly ctx: ServiceContext) {}

  async list(pool: string): Promise<VolumeInfo[]> {
    const rec = this.activePool(pool);
    await this.reconcile(rec);
    return this.ctx.store.listVolumes(pool).map((v) => this.describe(rec, v));
  }

  async info(pool: string, name: string): Promise<VolumeInfo> {
    const rec = this.activePool(pool);
    validateName('volume', name);
    const stored = this.ctx.store.getVolume(pool, name);
    let facts: VolumeFacts;
    try {
      facts = await this.driver(rec).volumeInfo(rec, stored && known(stored), name);
    } catch (e) {
      if (e instanceof KvmpoolError && e.code === 'NOT_FOUND' && stored) this.ctx.store.deleteVolume(stored.key);
      throw e;
    }
    return this.describe(rec, this.remember(rec, facts, stored));
  }

  /** Creates a volume; preallocated ones (`falloc`, `full`) run as a job. */
  async create(pool: string, input: CreateVolumeInput): Promise<CreateOutcome> {
    const rec = this.activePool(pool);
    const driver = this.driver(rec);
    const spec = this.createSpec(driver, input);
    const status = await driver.status(rec);
    if ((spec.prealloc === 'full' || spec.prealloc === 'falloc') && spec.capacity > status.available) {
      throw new KvmpoolError('NO_SPACE', `pool '${pool}' has ${status.available} bytes available, ${spec.capacity} needed`, { pool, available: status.available, needed: spec.capacity });
    }
    const release = this.ctx.locks.tryAcquire(volumeLock(pool, spec.name), 'create', `volume ${pool}/${spec.name}`);
    try {
      if (this.ctx.store.getVolume(pool, spec.name)) throw errors.exists('volume', `${pool}/${spec.name}`);
    } catch (e) {
      release();
      throw e;
    }
    const work = async (op: OpContext) => {
      const record = await this.ctx.metrics.observe('volume.create', () => this.createLocked(rec, driver, spec, op)).finally(release);
      return this.describe(rec, record);
    };
    if (spec.prealloc === 'full' || spec.prealloc === 'falloc') {
      return { job: this.ctx.jobs.start('volume.create', `${pool}/${spec.name}`, async (op) => (await work(op)).name) };
    }
    return { volume: await work({ signal: new AbortController().signal, log: this.ctx.log, progress: () => {} }) };
  }

  async delete(pool: string, name: string, force = false): Promise<void> {
    await this.ctx.metrics.observe('volume.delete', async () => {
      const rec = this.activePool(pool);
      validateName('volume', name);
      const release = this.ctx.locks.tryAcquire(volumeLock(pool, name), 'delete', `volume ${pool}/${name}`);
      try {
        const vol = await this.info(pool, name);
        this.require(vol, 'delete', force);
        await this.assertFree(rec, vol);
        await this.driver(rec).deleteVolume(rec, vol, this.op());
        this.ctx.store.deleteVolume(vol.key);
        this.ctx.events.emit('volume.deleted', `${pool}/${name}`);
        this.ctx.log(`volume ${pool}/${name}: deleted`);
      } finally {
        release();
      }
    });
  }

  /** Grows a volume, or shrinks it when `shrink` is set (refused with snapshots or while in use). */
  async resize(pool: string, name: string, size: number | string, shrink = false, force = false): Promise<VolumeInfo> {
    return this.ctx.metrics.observe('volume.resize', async () => {
      const rec = this.activePool(pool);
      validateName('volume', name);
      const capacity = roundUp(parseSize(size));
      return this.ctx.locks.with(volumeLock(pool, name), 'resize', async () => {
        const vol = await this.info(pool, name);
        this.require(vol, 'resize', false);
        if (capacity === vol.capacity) return vol;
        if (capacity < vol.capacity) {
          if (!shrink) throw new KvmpoolError('CANNOT_SHRINK', `${pool}/${name} is ${vol.capacity} bytes; shrinking to ${capacity} loses data: pass --shrink`, { capacity: vol.capacity, requested: capacity });
          if (!vol.features.includes('shrink')) throw new KvmpoolError('CANNOT_SHRINK', `${vol.format} volume ${pool}/${name} cannot shrink`, { format: vol.format });
          if (vol.snapshots) throw new KvmpoolError('CANNOT_SHRINK', `${pool}/${name} has ${vol.snapshots} internal snapshot(s): it cannot shrink`, { snapshots: vol.snapshots });
          if (!vol.managed && !force) throw foreign(vol, 'shrink');
          await this.assertFree(rec, vol);
        }
        const facts = await this.driver(rec).resizeVolume(rec, vol, capacity, capacity < vol.capacity, this.op());
        const out = this.describe(rec, this.remember(rec, facts, this.ctx.store.getVolume(pool, name)));
        this.ctx.events.emit('volume.resized', `${pool}/${name}`, { capacity: out.capacity });
        this.ctx.log(`volume ${pool}/${name}: resized to ${out.capacity} bytes`);
        return out;
      });
    });
  }

  async rename(pool: string, name: string, newName: string, force = false): Promise<VolumeInfo> {
    return this.ctx.metrics.observe('volume.rename', async () => {
      const rec = this.activePool(pool);
      validateName('volume', name);
      validateName('volume', newName);
      const releaseOld = this.ctx.locks.tryAcquire(volumeLock(pool, name), 'rename', `volume ${pool}/${name}`);
      try {
        const releaseNew = this.ctx.locks.tryAcquire(volumeLock(pool, newName), 'rename', `volume ${pool}/${newName}`);
        try {
          const vol = await this.info(pool, name);
          this.require(vol, 'rename', force);
          const dependents = this.backingUsers(rec, vol);
          if (dependents.length > 0) throw errors.inUse(`${pool}/${name} is the backing file of ${dependents.join(', ')}`, { users: dependents });
          const facts = await this.driver(rec).renameVolume(rec, vol, newName, this.op());
          const stored = this.ctx.store.getVolume(pool, name)!;
          this.ctx.store.putVolume({ ...stored, name: newName, facts });
          this.ctx.events.emit('volume.renamed', `${pool}/${name}`, { name: newName });
          this.ctx.log(`volume ${pool}/${name}: renamed to ${newName}`);
          return this.describe(rec, this.ctx.store.getVolume(pool, newName)!);
        } finally {
          releaseNew();
        }
      } finally {
        releaseOld();
      }
    });
  }

  /**
   * Makes the store match the pool's contents: files added outside appear (not managed by kvmpool),
   * files removed outside disappear, a file renamed outside keeps its key. Volumes busy with an
   * operation are left as they are.
   */
  async reconcile(rec: PoolRecord): Promise<void> {
    const stored = this.ctx.store.listVolumes(rec.name);
    const facts = await this.driver(rec).listVolumes(rec, new Map(stored.map((v) => [v.name, { ...known(v), facts: v.facts }])));
    this.ctx.store.transaction(() => {
      const seen = new Set<string>();
      for (const f of facts) {
        if (this.ctx.locks.holder(volumeLock(rec.name, f.name))) {
          const s = stored.find((v) => v.name === f.name);
          if (s) seen.add(s.key);
          continue;
        }
        seen.add(this.remember(rec, f, stored.find((v) => v.name === f.name) ?? stored.find((v) => v.facts.identity === f.identity && !seen.has(v.key))).key);
      }
      for (const v of stored) {
        if (!seen.has(v.key) && !this.ctx.locks.holder(volumeLock(rec.name, v.name))) this.ctx.store.deleteVolume(v.key);
      }
    });
  }

  /** Volumes on the host for a pool that may be stopped (used by pool delete). */
  async readAll(rec: PoolRecord): Promise<VolumeRecord[]> {
    await this.reconcile(rec);
    return this.ctx.store.listVolumes(rec.name);
  }

  /** Deletes the volumes kvmpool created (pool delete --force); foreign ones stay. */
  async deleteManaged(rec: PoolRecord, vols: VolumeRecord[], op: OpContext): Promise<void> {
    for (const v of vols.filter((x) => x.managed)) {
      const release = this.ctx.locks.tryAcquire(volumeLock(rec.name, v.name), 'delete', `volume ${rec.name}/${v.name}`);
      try {
        await this.assertFree(rec, this.describe(rec, v));
        await this.driver(rec).deleteVolume(rec, v.facts, op);
        this.ctx.store.deleteVolume(v.key);
      } finally {
        release();
      }
    }
  }

  /** IN_USE when any volume of the pool is busy or open (pool stop). */
  async assertNoneInUse(rec: PoolRecord): Promise<void> {
    for (const v of this.ctx.store.listVolumes(rec.name)) await this.assertFree(rec, this.describe(rec, v), true);
  }

  /** Repairs what a crash interrupted: discards partial volumes recorded in the journal. */
  async recover(): Promise<void> {
    for (const entry of this.ctx.store.listJournal()) {
      if (entry.kind !== JOURNAL_CREATE) continue;
      const { pool, name } = entry.data as { pool: string; name: string };
      const rec = this.ctx.store.getPool(pool);
      if (rec) {
        await this.driver(rec).discardPartial(rec, name).catch((e: unknown) => this.ctx.log(`recover ${pool}/${name}: ${String(e)}`));
        this.ctx.log(`recover: discarded the interrupted create of ${pool}/${name}`);
      }
      this.ctx.store.removeJournal(entry.id);
    }
  }

  private async createLocked(rec: PoolRecord, driver: StorageDriver, spec: VolumeSpec, op: OpContext): Promise<VolumeRecord> {
    return Reverter.run(this.ctx.log, async (revert) => {
      const journal = this.ctx.store.addJournal(JOURNAL_CREATE, { pool: rec.name, name: spec.name }, new Date().toISOString());
      revert.add('clear the journal entry', () => this.ctx.store.removeJournal(journal));
      const facts = await driver.createVolume(rec, spec, op);
      revert.add(`delete ${facts.path}`, () => driver.deleteVolume(rec, facts, op));
      const record: VolumeRecord = { key: randomUUID(), pool: rec.name, name: spec.name, managed: true, created: new Date().toISOString(), facts };
      this.ctx.store.putVolume(record);
      this.ctx.store.removeJournal(journal);
      this.ctx.events.emit('volume.created', `${rec.name}/${spec.name}`, { format: facts.format, capacity: facts.capacity });
      this.ctx.log(`volume ${rec.name}/${spec.name}: created (${facts.format}, ${facts.capacity} bytes)`);
      return record;
    });
  }

  private createSpec(driver: StorageDriver, input: CreateVolumeInput): VolumeSpec {
    const name = validateName('volume', input.name);
    const format = (input.format ?? 'raw') as CreateFormat;
    if (!(CREATE_FORMATS as readonly string[]).includes(format) || !driver.createFormats.includes(format)) {
      throw errors.invalid(`unknown volume format '${input.format}': expected ${driver.createFormats.join(' or ')}`, { format: input.format });
    }
    const prealloc = (input.prealloc ?? 'off') as Prealloc;
    if (!(PREALLOC_MODES as readonly string[]).includes(prealloc)) throw errors.invalid(`unknown preallocation '${input.prealloc}': expected ${PREALLOC_MODES.join(', ')}`);
    if (prealloc === 'metadata' && format !== 'qcow2') throw errors.invalid("preallocation 'metadata' needs format qcow2");
    const spec: VolumeSpec = { name, format, capacity: roundUp(parseSize(input.capacity)), prealloc };
    if (input.clusterSize !== undefined || input.lazyRefcounts !== undefined) {
      if (format !== 'qcow2') throw errors.invalid('cluster size and lazy refcounts apply to qcow2 only');
    }
    if (input.clusterSize !== undefined) {
      const c = parseSize(input.clusterSize);
      if (c < 512 || c > 2 * 1024 * 1024 || (c & (c - 1)) !== 0) throw errors.invalid(`invalid cluster size ${input.clusterSize}: a power of two from 512 to 2M`);
      spec.clusterSize = c;
    }
    if (input.lazyRefcounts !== undefined) spec.lazyRefcounts = input.lazyRefcounts;
    return spec;
  }

  /** Stores facts under the record they belong to (or a new, foreign record) and returns it. */
  private remember(rec: PoolRecord, facts: VolumeFacts, stored: VolumeRecord | undefined): VolumeRecord {
    const same = stored && stored.facts.identity === facts.identity;
    const record: VolumeRecord = same
      ? { ...stored, name: facts.name, facts }
      : { key: randomUUID(), pool: rec.name, name: facts.name, managed: false, created: new Date().toISOString(), facts };
    this.ctx.store.putVolume(record);
    return record;
  }

  private describe(rec: PoolRecord, v: VolumeRecord): VolumeInfo {
    const info: VolumeInfo = { ...v.facts, pool: rec.name, key: v.key, managed: v.managed, created: v.created, features: this.features(rec, v.facts) };
    const busy = this.ctx.locks.holder(volumeLock(rec.name, v.name));
    if (busy) info.busy = busy;
    return info;
  }

  private features(rec: PoolRecord, facts: VolumeFacts): VolumeFeature[] {
    const all = featuresFor(this.driver(rec).capabilities, facts.format);
    // Resizing opens the image with its backing chain: never for a backing file outside the pool.
    return facts.backingOutsidePool ? all.filter((f) => f === 'delete' || f === 'rename') : all;
  }

  private require(vol: VolumeInfo, feature: VolumeFeature, force: boolean): void {
    if (!vol.features.includes(feature)) {
      const why = vol.format === 'unknown' ? 'qemu-img cannot identify it, so kvmpool never changes it' : `not supported for ${vol.format} volumes here`;
      throw errors.notSupported(`cannot ${feature} ${vol.pool}/${vol.name}: ${why}`, { feature, format: vol.format });
    }
    if (feature !== 'resize' && !vol.managed && !force) throw foreign(vol, feature);
  }

  /** IN_USE when another operation holds the volume (unless `checkLock` is off), a process has it open, or another volume is backed by it. */
  private async assertFree(rec: PoolRecord, vol: VolumeInfo, checkLock = false): Promise<void> {
    if (checkLock && vol.busy) throw errors.inUse(`${rec.name}/${vol.name} is busy: ${vol.busy} in progress`, { operation: vol.busy });
    const users = await this.driver(rec).volumeUsers(rec, vol);
    if (users.length > 0) throw errors.inUse(`${rec.name}/${vol.name} is in use by ${users.join(', ')}`, { users });
    const dependents = this.backingUsers(rec, vol);
    if (dependents.length > 0) throw errors.inUse(`${rec.name}/${vol.name} is the backing file of ${dependents.join(', ')}`, { users: dependents });
  }

  /** Volumes of the pool whose backing file is `vol`. */
  private backingUsers(rec: PoolRecord, vol: VolumeFacts): string[] {
    return this.ctx.store
      .listVolumes(rec.name)
      .filter((v) => v.facts.backingFile && path.resolve(path.dirname(v.facts.path), v.facts.backingFile) === vol.path)
      .map((v) => `${rec.name}/${v.name}`);
  }

  private activePool(name: string): PoolRecord {
    validateName('pool', name);
    const rec = this.ctx.store.getPool(name);
    if (!rec) throw errors.notFound('pool', name);
    if (!rec.active) throw notActive(name);
    return rec;
  }

  private driver(rec: PoolRecord): StorageDriver {
    return storageDriver(rec.type);
  }

  private op(): OpContext {
    return { signal: new AbortController().signal, log: this.ctx.log, progress: () => {} };
  }
}

function known(v: VolumeRecord): KnownVolume {
  return { name: v.name, format: v.facts.format, identity: v.facts.identity };
}

function foreign(vol: VolumeInfo, verb: string): KvmpoolError {
  return new KvmpoolError('FOREIGN_VOLUME', `${vol.pool}/${vol.name} was not created by kvmpool: pass --force to ${verb} it`, { volume: `${vol.pool}/${vol.name}` });
}
