import { KvmpoolError, errors } from '../../model/errors.js';
import { validateName } from '../../model/names.js';
import { checkDevicePath, isInside } from '../../model/paths.js';
import type { JobInfo, PoolDefinition, PoolInfo, PoolSource, PoolStatus, PoolType } from '../../model/types.js';
import { parseSize } from '../../model/sizes.js';
import type { PoolRecord } from '../../state/store.js';
import { storageDriver } from '../../drivers/storage/registry.js';
import type { OpContext, StorageDriver } from '../../drivers/storage/driver.js';
import type { ServiceContext } from '../context.js';
import type { VolumeService } from './volumes.js';
import type { VolumeAccess } from './volume-access.js';

/** What `define` accepts. */
export interface DefinePoolInput {
  name: string;
  type: string;
  /** Required for dir and fs pools; block pools derive it (/dev/VG, /dev). */
  target?: string;
  autostart?: boolean;
  source?: Omit<PoolSource, 'thinPool'> & { thinPool?: number | string };
}

/** Pool types whose target is a directory of image files (targets of two such pools must not overlap). */
const FILE_POOL_TYPES: readonly PoolType[] = ['dir', 'fs', 'netfs'];

/** Lock name of a pool's lifecycle. */
export const poolLock = (pool: string) => `pool:${pool}`;

/** Pool lifecycle: define, build, start, stop, refresh, delete, undefine, autostart. */
export class PoolService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly volumes: VolumeService,
    private readonly access: VolumeAccess,
  ) {}

  async define(input: DefinePoolInput): Promise<PoolInfo> {
    return this.ctx.metrics.observe('pool.define', async () => {
      const name = validateName('pool', input.name);
      const driver = storageDriver(input.type);
      const def = await driver.validate({
        name,
        type: driver.type,
        target: input.target ?? '',
        autostart: input.autostart ?? false,
        ...(input.source ? { source: parseSource(input.source) } : {}),
      });
      return this.ctx.locks.with('pools', 'define', async () => {
        if (this.ctx.store.getPool(name)) throw errors.exists('pool', name);
        for (const p of this.ctx.store.listPools()) assertApart(def, p);
        this.ctx.store.insertPool({ ...def, built: null, active: false, bootId: null, created: new Date().toISOString() });
        this.ctx.events.emit('pool.defined', name);
        this.ctx.log(`pool ${name}: defined (${def.type} at ${def.target})`);
        return this.info(name);
      });
    });
  }

  async list(): Promise<PoolInfo[]> {
    return Promise.all(this.ctx.store.listPools().map((p) => this.describe(p)));
  }

  async info(name: string): Promise<PoolInfo> {
    return this.describe(this.record(name));
  }

  async build(name: string, options: { overwrite?: boolean } = {}): Promise<PoolInfo> {
    return this.lifecycle(name, 'build', async (rec, driver, op) => {
      if (rec.active) throw new KvmpoolError('POOL_ACTIVE', `pool '${name}' is running: stop it before building it again`, { pool: name });
      const created = await driver.build(rec, op, { overwrite: options.overwrite === true, built: rec.built });
      // Keep the first record of what build made (a second build of an existing target creates
      // nothing), unless this build made something new over it.
      const keep = rec.built && rec.built.length > 0 && (created.length === 0 || !options.overwrite);
      this.ctx.store.updatePool(name, { built: keep ? rec.built : created });
    });
  }

  async start(name: string): Promise<PoolInfo> {
    return this.lifecycle(name, 'start', async (rec, driver, op) => {
      if (rec.active) return;
      await driver.start(rec, op);
      this.ctx.store.updatePool(name, { active: true, bootId: this.ctx.bootId });
      await this.access.probe(rec);
      await this.volumes.reconcile(rec);
    });
  }

  async stop(name: string, force = false): Promise<PoolInfo> {
    return this.lifecycle(name, 'stop', async (rec, driver, op) => {
      if (!rec.active) return;
      const reopen = this.access.closePool(name);
      try {
        if (!force) await this.volumes.assertNoneInUse(rec);
        await driver.stop(rec, op);
        this.ctx.store.updatePool(name, { active: false });
      } finally {
        reopen();
      }
    });
  }

  /** Adds a device to a pool (logical: a new PV of its VG). */
  async extend(name: string, device: string): Promise<PoolInfo> {
    const dev = checkDevicePath(device);
    return this.lifecycle(name, 'extend', async (rec, driver, op) => {
      if (!driver.extendPool) throw errors.notSupported(`pools of type ${rec.type} do not grow by devices`);
      for (const p of this.ctx.store.listPools()) {
        if (p.source?.devices?.includes(dev)) throw errors.inUse(`device ${dev} belongs to pool '${p.name}'`, { pool: p.name, device: dev });
      }
      await driver.extendPool(rec, dev, op);
      this.ctx.store.updatePool(name, { source: { ...rec.source, devices: [...(rec.source?.devices ?? []), dev] } });
    });
  }

  /** Moves the data off a device online and removes it from the pool, as a job (logical: pvmove, vgreduce). */
  async shrink(name: string, device: string): Promise<JobInfo> {
    const dev = checkDevicePath(device);
    const rec = this.record(name);
    const driver = storageDriver(rec.type);
    if (!driver.shrinkPool || !driver.checkShrink) throw errors.notSupported(`pools of type ${rec.type} do not shrink by devices`);
    const release = this.ctx.locks.tryAcquire(poolLock(name), 'shrink', `pool ${name}`);
    try {
      await driver.checkShrink(rec, dev);
    } catch (e) {
      release();
      throw e;
    }
    return this.ctx.jobs.start('pool.shrink', `${name} ${dev}`, async (op) => {
      try {
        await this.ctx.metrics.observe('pool.shrink', () => driver.shrinkPool!(rec, dev, op));
        const current = this.record(name);
        this.ctx.store.updatePool(name, { source: { ...current.source, devices: (current.source?.devices ?? []).filter((d) => d !== dev) } });
        this.ctx.events.emit('pool.shrink', name, { device: dev });
        this.ctx.log(`pool ${name}: ${dev} removed`);
        return { pool: name, device: dev };
      } finally {
        release();
      }
    });
  }

  /**
   * Looks after running pools (all, or `name`): a thin pool past its threshold warns (event
   * `pool.thin.warning`) and grows when the pool asks for it (`pool.thin.extended`). Failures are logged.
   */
  async maintain(name?: string): Promise<void> {
    for (const rec of this.ctx.store.listPools().filter((p) => p.active && (name === undefined || p.name === name))) {
      const driver = storageDriver(rec.type);
      if (!driver.maintain) continue;
      try {
        const report = await driver.maintain(rec);
        if (report?.warning) {
          this.ctx.events.emit('pool.thin.warning', rec.name, { reason: report.warning, thin: report.thin });
          this.ctx.log(`pool ${rec.name}: ${report.warning}`);
        }
        if (report?.extended) {
          this.ctx.events.emit('pool.thin.extended', rec.name, { by: report.extended });
          this.ctx.log(`pool ${rec.name}: thin pool grown by ${report.extended} bytes`);
        }
      } catch (e) {
        this.ctx.log(`pool ${rec.name}: maintenance failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  async refresh(name: string): Promise<PoolInfo> {
    return this.lifecycle(name, 'refresh', async (rec) => {
      await this.maintain(name);
      await this.access.inPool(name, async () => {
        await this.access.probe(rec);
        await this.volumes.reconcile(rec);
      });
    });
  }

  /** Removes what build made. Refused while the pool runs, and while it holds volumes unless `force` (then kvmpool's own volumes go first). */
  async delete(name: string, force = false): Promise<PoolInfo> {
    return this.lifecycle(name, 'delete', async (rec, driver, op) => {
      if (rec.active) throw new KvmpoolError('POOL_ACTIVE', `pool '${name}' is running: stop it first`, { pool: name });
      // A pool that cannot list its volumes while stopped (an unmounted file system) goes by its records.
      const present = driver.listsWhenStopped ? await this.volumes.readAll(rec).catch(() => []) : this.ctx.store.listVolumes(name);
      if (present.length > 0 && force && !driver.listsWhenStopped) {
        throw new KvmpoolError('POOL_NOT_EMPTY', `pool '${name}' holds ${present.length} volume(s): start it, delete them, stop it, then delete the pool`, {
          pool: name,
          volumes: present.map((v) => v.name),
        });
      }
      if (present.length > 0 && !force) {
        throw new KvmpoolError('POOL_NOT_EMPTY', `pool '${name}' holds ${present.length} volume(s): delete them or use --force`, {
          pool: name,
          volumes: present.map((v) => v.name),
        });
      }
      if (force) await this.volumes.deleteManaged(rec, present, op);
      await driver.delete(rec, rec.built ?? [], op);
      this.ctx.store.updatePool(name, { built: null });
    });
  }

  async undefine(name: string): Promise<void> {
    await this.ctx.metrics.observe('pool.undefine', () =>
      this.ctx.locks.with(poolLock(name), 'undefine', async () => {
        const rec = this.record(name);
        if (rec.active) throw new KvmpoolError('POOL_ACTIVE', `pool '${name}' is running: stop it first`, { pool: name });
        this.access.closePool(name)();
        this.ctx.store.deletePool(name);
        this.ctx.events.emit('pool.undefined', name);
        this.ctx.log(`pool ${name}: undefined`);
      }),
    );
  }

  async setAutostart(name: string, autostart: boolean): Promise<PoolInfo> {
    this.record(name);
    this.ctx.store.updatePool(name, { autostart });
    return this.info(name);
  }

  /**
   * Brings pools back on daemon start: autostart pools, and pools that were running before a daemon
   * restart within the same boot. Failures are logged; the pool stays inactive.
   */
  async startup(): Promise<void> {
    for (const rec of this.ctx.store.listPools()) {
      const resume = rec.active && rec.bootId === this.ctx.bootId;
      if (rec.active && !resume) this.ctx.store.updatePool(rec.name, { active: false });
      if (!rec.autostart && !resume) continue;
      try {
        this.ctx.store.updatePool(rec.name, { active: false });
        await this.start(rec.name);
      } catch (e) {
        // It should be running: keep it so, and let its state say what is wrong (degraded, with the
        // reason) until its storage is back.
        this.ctx.store.updatePool(rec.name, { active: true, bootId: this.ctx.bootId });
        this.ctx.log(`pool ${rec.name}: could not start: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  /** The stored record of a pool, or NOT_FOUND. */
  record(name: string): PoolRecord {
    const rec = this.ctx.store.getPool(name);
    if (!rec) throw errors.notFound('pool', name);
    return rec;
  }

  private async lifecycle(name: string, verb: string, body: (rec: PoolRecord, driver: StorageDriver, op: OpContext) => Promise<void>): Promise<PoolInfo> {
    return this.ctx.metrics.observe(`pool.${verb}`, async () => {
      await this.ctx.locks.with(poolLock(name), verb, async () => {
        const rec = this.record(name);
        const op: OpContext = { signal: new AbortController().signal, log: (m) => this.ctx.log(`pool ${name}: ${m}`), progress: () => {} };
        await body(rec, storageDriver(rec.type), op);
      });
      this.ctx.events.emit(`pool.${verb}`, name);
      this.ctx.log(`pool ${name}: ${verb}`);
      return this.info(name);
    });
  }

  private async describe(rec: PoolRecord): Promise<PoolInfo> {
    const def: PoolDefinition = { name: rec.name, type: rec.type, target: rec.target, autostart: rec.autostart, ...(rec.source ? { source: rec.source } : {}) };
    const status: PoolStatus = rec.active ? await storageDriver(rec.type).status(def) : { state: 'inactive', capacity: 0, allocation: 0, available: 0 };
    return { ...def, ...status, built: rec.built !== null, volumes: this.ctx.store.countVolumes(rec.name) };
  }
}

/** A definition's source with its thin pool size in bytes. */
function parseSource(input: NonNullable<DefinePoolInput['source']>): PoolSource {
  const { thinPool, ...rest } = input;
  return { ...rest, ...(thinPool !== undefined ? { thinPool: parseSize(thinPool) } : {}) };
}

/** IN_USE when two pools would share storage: overlapping directories of file pools, or a device. */
function assertApart(def: PoolDefinition, other: PoolDefinition): void {
  if (FILE_POOL_TYPES.includes(def.type) && FILE_POOL_TYPES.includes(other.type) && (isInside(other.target, def.target) || isInside(def.target, other.target))) {
    throw errors.inUse(`target ${def.target} overlaps pool '${other.name}' (${other.target})`, { pool: other.name, target: other.target });
  }
  const shared = (def.source?.devices ?? []).find((d) => other.source?.devices?.includes(d));
  if (shared) throw errors.inUse(`device ${shared} belongs to pool '${other.name}'`, { pool: other.name, device: shared });
  if (def.type === 'logical' && other.type === 'logical' && def.source?.vg === other.source?.vg) {
    throw errors.inUse(`volume group ${def.source?.vg} belongs to pool '${other.name}'`, { pool: other.name, vg: def.source?.vg });
  }
}

/** POOL_NOT_ACTIVE for `name`. */
export function notActive(name: string): KvmpoolError {
  return new KvmpoolError('POOL_NOT_ACTIVE', `pool '${name}' is not running: start it first`, { pool: name });
}
