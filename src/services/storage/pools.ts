import { KvmpoolError, errors } from '../../model/errors.js';
import { checkDevicePath } from '../../model/paths.js';
import type { JobInfo } from '../../model/job-types.js';
import type { OpContext } from '../../model/op-context.js';
import type { PoolInfo, PoolStatus } from '../../model/pool-types.js';
import { Reverter } from '../../model/reverter.js';
import type { PoolRecord, VolumeRecord } from '../../state/store.js';
import type { ServiceContext } from '../context.js';
import { announce, journaled, operate } from '../operation.js';
import { JOURNAL_POOL_START } from './journal-kinds.js';
import { assertApart, newDefinition, type DefinePoolInput } from './pool-definitions.js';
import { findPoolSources, type FindSourcesInput, type FoundPoolSource } from './pool-sources.js';
import { assertNoDependents, assertProvidersRunning } from './pool-dependencies.js';
import type { ActivePool } from './pool-gate.js';
import { reconcile } from './reconcile.js';
import type { VolumeWork } from './volume-work.js';

export type { DefinePoolInput };

/** Lock name of a pool's lifecycle. */
export const poolLock = (pool: string) => `pool:${pool}`;

/** Pool lifecycle: define, build, start, stop, refresh, delete, undefine, autostart, devices. */
export class PoolService {
  private readonly ctx: ServiceContext;
  private maintaining = false;

  constructor(private readonly w: VolumeWork) {
    this.ctx = w.ctx;
  }

  /** What storage of a type there is to define a pool on (NFS exports, CIFS shares, iSCSI targets...). */
  sources(input: FindSourcesInput): Promise<FoundPoolSource[]> {
    return findPoolSources(this.ctx, input);
  }

  /** Defines a pool; its secrets go to the secret store, never to the store or an answer. */
  async define(input: DefinePoolInput): Promise<PoolInfo> {
    return operate(this.ctx, 'pool.define', ['pools'], async () => {
      const { def, secrets } = await newDefinition(this.ctx, input);
      if (this.ctx.store.pools.get(def.name)) throw errors.exists('pool', def.name);
      assertApart(this.ctx, def, this.ctx.store.pools.list());
      await Reverter.run(this.ctx.log, async (r) => {
        r.add(`remove the secrets of pool ${def.name}`, () => this.ctx.secrets.remove('pools', def.name));
        await this.ctx.secrets.put('pools', def.name, secrets);
        const { secrets: _files, ...rest } = def;
        this.ctx.store.pools.insert({ ...rest, secretFields: Object.keys(secrets), built: null, active: false, bootId: null, created: new Date().toISOString() });
      });
      announce(this.ctx, 'pool.defined', def.name, `pool ${def.name}: defined (${def.type} at ${def.target})`);
      return this.info(def.name);
    });
  }

  async list(): Promise<PoolInfo[]> {
    return Promise.all(this.ctx.store.pools.list().map((p) => this.describe(p)));
  }

  async info(name: string): Promise<PoolInfo> {
    return this.describe(this.record(name));
  }

  async build(name: string, options: { overwrite?: boolean } = {}): Promise<PoolInfo> {
    return this.lifecycle(name, 'build', async (p, op) => {
      if (p.rec.active) throw new KvmpoolError('POOL_ACTIVE', `pool '${name}' is running: stop it before building it again`, { pool: name });
      const created = await p.driver.build(p.def, op, { overwrite: options.overwrite === true, built: p.rec.built });
      // Keep the first record of what build made (a second build of an existing target creates
      // nothing), unless this build made something new over it.
      const keep = p.rec.built && p.rec.built.length > 0 && (created.length === 0 || !options.overwrite);
      this.ctx.store.pools.update(name, { built: keep ? p.rec.built : created });
    });
  }

  /** Starts a pool; `resumed`: one that ran before this daemon started (its storage may be in use by VMs that outlived the daemon). */
  async start(name: string, resumed = false): Promise<PoolInfo> {
    return this.lifecycle(name, 'start', async (p, op) => {
      // A running pool starts again only when it cannot be used (its storage went away and is back).
      if (p.rec.active) {
        const status = await p.driver.status(p.def, false);
        if (status.state !== 'degraded' || status.usable === true) return;
      }
      await assertProvidersRunning(this.ctx, this.w.gate, p);
      // A crash between the driver's start and the record leaves an entry: the next daemon forgets what it made.
      await journaled(this.ctx, JOURNAL_POOL_START, { pool: name, resumed }, async () => {
        await p.driver.start(p.def, op);
        this.ctx.store.pools.update(name, { active: true, bootId: this.ctx.bootId });
      });
      await this.w.gate.probe(p);
      await this.w.watches.start(p);
      await this.readWhole(p);
    });
  }

  async stop(name: string, force = false): Promise<PoolInfo> {
    return this.lifecycle(name, 'stop', async (p, op) => {
      // Stopped already: whatever an interrupted start left is cleaned up.
      if (!p.rec.active) return p.driver.forget?.(p.def);
      await this.w.watches.stop(name);
      let reopen = () => {};
      try {
        reopen = this.w.gate.close(name);
        await assertNoDependents(this.ctx, this.w.gate, p);
        if (!force) await this.assertNoneInUse(p);
        await p.driver.stop(p.def, op);
        this.ctx.store.pools.update(name, { active: false });
      } finally {
        reopen();
        // Still running (the stop was refused or failed): watched again, and read whole once.
        if (this.record(name).active) await this.w.watches.start(p);
      }
    });
  }

  /** Adds a device to a pool (logical: a new PV of its VG). */
  async extend(name: string, device: string): Promise<PoolInfo> {
    const dev = checkDevicePath(device);
    return this.lifecycle(name, 'extend', async (p, op) => {
      if (!p.driver.devices) throw errors.notSupported(`pools of type ${p.rec.type} do not grow by devices`);
      for (const other of this.ctx.store.pools.list().filter((x) => this.w.gate.known(x))) {
        const o = this.w.gate.view(other);
        if (o.driver.resources(o.def).devices?.includes(dev)) throw errors.inUse(`device ${dev} belongs to pool '${other.name}'`, { pool: other.name, device: dev });
      }
      this.ctx.store.pools.update(name, { source: await p.driver.devices.extend(p.def, dev, op) });
    });
  }

  /** Moves the data off a device online and removes it from the pool, as a job whose result is the pool (logical: pvmove, vgreduce). */
  async shrink(name: string, device: string): Promise<JobInfo> {
    const dev = checkDevicePath(device);
    const p = this.w.gate.view(this.record(name));
    const devices = p.driver.devices;
    if (!devices) throw errors.notSupported(`pools of type ${p.rec.type} do not shrink by devices`);
    // The periodic care holds the lock a moment: waited for. Any other change of the pool refuses the shrink.
    const lock = poolLock(name);
    const release = this.ctx.locks.holder(lock) === 'maintain' ? await this.ctx.locks.acquire(lock, 'shrink') : this.ctx.locks.tryAcquire(lock, 'shrink', `pool ${name}`);
    try {
      await devices.checkShrink(p.def, dev);
    } catch (e) {
      release();
      throw e;
    }
    return this.ctx.jobs.start('pool.shrink', `${name} ${dev}`, async (op) => {
      try {
        const source = await this.ctx.metrics.observe('pool.shrink', () => devices.shrink(p.def, dev, op));
        this.ctx.store.pools.update(name, { source });
        announce(this.ctx, 'pool.shrink', name, `pool ${name}: ${dev} removed`, { device: dev });
        return this.info(name);
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
    // The periodic round runs one at a time: a slow one is not joined by the next.
    if (name === undefined) {
      if (this.maintaining) return;
      this.maintaining = true;
    }
    try {
      await this.maintainPools(name);
    } finally {
      if (name === undefined) this.maintaining = false;
    }
  }

  private async maintainPools(name: string | undefined): Promise<void> {
    for (const rec of this.ctx.store.pools.list().filter((p) => p.active && (name === undefined || p.name === name) && this.w.gate.known(p))) {
      // The periodic round leaves a pool alone while a start, stop or other change of it runs (its care
      // would undo a stop half done: a multipath map made again between the stop's steps); its next round
      // comes soon. `name` is given by a refresh, which holds the pool's lock itself.
      let release = () => {};
      if (name === undefined) {
        if (this.ctx.locks.holder(poolLock(rec.name)) !== undefined) continue;
        release = this.ctx.locks.tryAcquire(poolLock(rec.name), 'maintain', `pool ${rec.name}`);
      }
      try {
        const now = this.ctx.store.pools.get(rec.name);
        if (!now?.active) continue;
        const p = this.w.gate.view(now);
        if (!p.driver.maintain) continue;
        const report = await p.driver.maintain(p.def);
        if (report?.warning) announce(this.ctx, 'pool.thin.warning', rec.name, `pool ${rec.name}: ${report.warning}`, { reason: report.warning, thin: report.thin });
        if (report?.extended) announce(this.ctx, 'pool.thin.extended', rec.name, `pool ${rec.name}: thin pool grown by ${report.extended} bytes`, { by: report.extended });
      } catch (e) {
        this.ctx.log(`pool ${rec.name}: maintenance failed: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        release();
      }
    }
  }

  async refresh(name: string): Promise<PoolInfo> {
    return this.lifecycle(name, 'refresh', async () => {
      await this.maintain(name);
      await this.w.gate.inPool(name, async (p) => {
        await p.driver.rescan?.(p.def);
        await this.w.gate.probe(p);
        await this.readWhole(p);
      });
    });
  }

  /** Removes what build made. Refused while the pool runs, and while it holds volumes unless `force` (then kvmpool's own volumes go first). */
  async delete(name: string, force = false): Promise<PoolInfo> {
    return this.lifecycle(name, 'delete', async (p, op) => {
      if (p.rec.active) throw new KvmpoolError('POOL_ACTIVE', `pool '${name}' is running: stop it first`, { pool: name });
      // A pool that cannot list its volumes while stopped (an unmounted file system) goes by its records.
      const unreadable = (e: unknown) => {
        // The driver's delete refuses storage that still holds anything: an empty listing loses nothing.
        this.ctx.log(`pool ${name}: its volumes could not be read before the delete: ${e instanceof Error ? e.message : String(e)}`);
        return [];
      };
      const present = p.driver.listsWhenStopped
        ? await reconcile(this.ctx, this.w.records, p).then(() => this.ctx.store.volumes.list(name), unreadable)
        : this.ctx.store.volumes.list(name);
      if (present.length > 0 && (!force || !p.driver.listsWhenStopped)) {
        const how = force ? 'start it, delete them, stop it, then delete the pool' : 'delete them or use --force';
        throw new KvmpoolError('POOL_NOT_EMPTY', `pool '${name}' holds ${present.length} volume(s): ${how}`, { pool: name, volumes: present.map((v) => v.name) });
      }
      if (force) await this.deleteManaged(p, present, op);
      await p.driver.delete(p.def, p.rec.built ?? [], op);
      this.ctx.store.pools.update(name, { built: null });
    });
  }

  /** Forgets a stopped pool and its secrets; its storage stays. */
  async undefine(name: string): Promise<void> {
    await operate(this.ctx, 'pool.undefine', [poolLock(name)], async () => {
      const rec = this.record(name);
      if (rec.active) throw new KvmpoolError('POOL_ACTIVE', `pool '${name}' is running: stop it first`, { pool: name });
      this.w.gate.close(name)();
      // What it still holds on the host (an iscsi pool's records, with its secrets) must go with it.
      if (this.w.gate.known(rec)) await this.w.gate.view(rec).driver.forget?.(this.w.gate.view(rec).def);
      this.ctx.store.pools.delete(name);
      await this.ctx.secrets.remove('pools', name).catch((e: unknown) => this.ctx.log(`pool ${name}: undefined, but its secrets could not be removed: ${e instanceof Error ? e.message : String(e)}`));
      announce(this.ctx, 'pool.undefined', name, `pool ${name}: undefined`);
    });
  }

  async setAutostart(name: string, autostart: boolean): Promise<PoolInfo> {
    this.record(name);
    this.ctx.store.pools.update(name, { autostart });
    return this.info(name);
  }

  /**
   * Brings pools back on daemon start: autostart pools, and pools that were running before a daemon
   * restart within the same boot. Failures are logged; the pool stays inactive.
   */
  async startup(): Promise<void> {
    for (const rec of this.ctx.store.pools.list()) {
      if (!this.w.gate.known(rec)) {
        this.ctx.log(`pool ${rec.name}: not started: its type ${rec.type} is not one this kvmpool has`);
        continue;
      }
      const resume = rec.active && rec.bootId === this.ctx.bootId;
      if (rec.active && !resume) {
        // Running before a reboot: what it kept on the host (iscsi node records) is not kept for it.
        await this.forget(this.w.gate.view(rec));
        this.ctx.store.pools.update(rec.name, { active: false });
      }
      if (!rec.autostart && !resume) continue;
      try {
        this.ctx.store.pools.update(rec.name, { active: false });
        await this.start(rec.name, resume);
      } catch (e) {
        // It should be running: keep it so, and let its state say what is wrong (degraded, with the
        // reason) until its storage is back.
        this.ctx.store.pools.update(rec.name, { active: true, bootId: this.ctx.bootId });
        this.ctx.log(`pool ${rec.name}: could not start: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  /** Lets the driver remove what a stopped pool may still hold on the host; a failure is logged. */
  private async forget(p: Pick<ActivePool, 'rec' | 'def' | 'driver'> | undefined): Promise<void> {
    await p?.driver.forget?.(p.def).catch((e: unknown) => this.ctx.log(`pool ${p.rec.name}: what it held on the host could not all be removed: ${e instanceof Error ? e.message : String(e)}`));
  }

  /** Reads the whole pool into the store: its watch, if it lost track, is trusted again. */
  private async readWhole(p: ActivePool): Promise<void> {
    const epoch = this.w.watches.epoch(p.rec.name);
    await reconcile(this.ctx, this.w.records, p);
    this.w.watches.caughtUp(p.rec.name, epoch);
  }

  /** The stored record of a pool, or NOT_FOUND. */
  record(name: string): PoolRecord {
    const rec = this.ctx.store.pools.get(name);
    if (!rec) throw errors.notFound('pool', name);
    return rec;
  }

  /** Deletes the volumes kvmpool created (pool delete --force); foreign ones stay. */
  private async deleteManaged(p: ActivePool, vols: VolumeRecord[], op: OpContext): Promise<void> {
    for (const v of vols.filter((x) => x.managed)) {
      await this.w.locked(p.rec.name, v.name, 'delete', false, async () => {
        await this.w.rules.assertFree(p, this.w.rules.describe(p, v), { dependents: true });
        await p.driver.volumes!.delete(p.def, v.facts, op);
        this.w.records.forget(p.rec.name, v);
      });
    }
  }

  /** IN_USE when any volume of the pool is busy or open (pool stop: its clones stop with it). */
  private async assertNoneInUse(p: ActivePool): Promise<void> {
    for (const v of this.ctx.store.volumes.list(p.rec.name)) await this.w.rules.assertFree(p, this.w.rules.describe(p, v), { checkLock: true });
  }

  private async lifecycle(name: string, verb: string, body: (p: ActivePool, op: OpContext) => Promise<void>): Promise<PoolInfo> {
    await operate(this.ctx, `pool.${verb}`, [poolLock(name)], async () => {
      const p = this.w.gate.view(this.record(name));
      const op: OpContext = { signal: new AbortController().signal, log: (m) => this.ctx.log(`pool ${name}: ${m}`), progress: () => {} };
      await body(p, op);
    });
    announce(this.ctx, `pool.${verb}`, name, `pool ${name}: ${verb}`);
    return this.info(name);
  }

  private async describe(rec: PoolRecord): Promise<PoolInfo> {
    const none = { capacity: 0, allocation: 0, available: 0 };
    const status: PoolStatus = !this.w.gate.known(rec)
      ? { state: 'degraded', reason: `its type ${rec.type} is not one this kvmpool has`, ...none }
      : rec.active
        ? await this.w.gate.view(rec).driver.status(this.w.gate.view(rec).def)
        : { state: 'inactive', ...none };
    const { built, active: _a, bootId: _b, created: _c, secretFields, ...def } = rec;
    return { ...def, ...status, secrets: secretFields, built: built !== null, volumes: this.ctx.store.volumes.count(rec.name) };
  }
}
