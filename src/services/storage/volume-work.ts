import { validateName } from '../../model/names.js';
import type { AccessInfo } from '../../model/access.js';
import type { JobInfo } from '../../model/job-types.js';
import type { OpContext } from '../../model/op-context.js';
import type { VolumeFacts, VolumeInfo } from '../../model/volume-types.js';
import type { ServiceContext } from '../context.js';
import type { ActivePool, PoolGate } from './pool-gate.js';
import { volumeLock, type VolumeRecords } from './volume-records.js';
import type { VolumeRules } from './volume-rules.js';
import { observedElsewhere } from '../../model/ignore.js';
import { PoolWatches } from './pool-watch.js';

/**
 * What the volume services share: the pool gate, the volume records and their watches, the rules, and the two ways an
 * operation holds a volume (inline with its lock, or as a job).
 */
export class VolumeWork {
  /** The change signals of running pools, which keep their records fresh for listings. */
  readonly watches: PoolWatches;

  constructor(
    readonly ctx: ServiceContext,
    readonly gate: PoolGate,
    readonly records: VolumeRecords,
    readonly rules: VolumeRules,
  ) {
    this.watches = new PoolWatches(ctx, gate, records);
  }

  /** Reads a volume fresh from the host, records it, and describes it (see VolumeRecords.read). */
  async read(pool: ActivePool, name: string, owner = true): Promise<VolumeInfo> {
    return this.rules.describe(pool, await this.records.read(pool, name, owner));
  }

  /** Records new facts of a volume kvmpool just changed, under its key; the caller holds its lock. */
  update(pool: ActivePool, vol: VolumeInfo, facts: VolumeFacts): VolumeInfo {
    return this.rules.describe(pool, this.records.update(pool.rec.name, vol, facts));
  }

  /** Local users of volumes on storage several hosts share (VMs, jobs), by `pool/volume`; see `claim`. */
  private readonly claims = new Map<string, number>();
  /** Claims and releases of a volume run one after another (a release in flight cannot undo a newer claim). */
  private readonly claimTurns = new Map<string, Promise<unknown>>();

  /**
   * Makes the volume usable on this host for one more local user (storage several hosts share: see
   * StorageDriver.claim); the returned function ends that use, and the last use here gives the volume
   * up. For other storage both are free.
   */
  async claim(pool: ActivePool, vol: VolumeFacts): Promise<() => Promise<void>> {
    const driver = pool.driver;
    if (!driver.claim) return async () => {};
    const key = `${pool.rec.name}/${vol.name}`;
    await this.inTurn(key, async () => {
      const users = (this.claims.get(key) ?? 0) + 1;
      if (users === 1) await driver.claim!(pool.def, vol);
      this.claims.set(key, users);
    });
    let ended = false;
    return async () => {
      if (ended) return;
      ended = true;
      await this.unclaim(pool, vol);
    };
  }

  /** Ends one local use of a volume `claim` counted; the last one gives it up (a failure is logged: the volume stays usable here). */
  async unclaim(pool: ActivePool, vol: VolumeFacts): Promise<void> {
    const key = `${pool.rec.name}/${vol.name}`;
    await this.inTurn(key, async () => {
      const users = (this.claims.get(key) ?? 0) - 1;
      if (users > 0) return void this.claims.set(key, users);
      if (users < 0) return;
      this.claims.delete(key);
      await pool.driver.release?.(pool.def, vol).catch((e: unknown) => this.ctx.log(`volume ${key}: could not be given up: ${String(e)}`));
    });
  }

  private async inTurn(key: string, step: () => Promise<void>): Promise<void> {
    const turn = (this.claimTurns.get(key) ?? Promise.resolve()).then(step);
    const settled = turn.catch(observedElsewhere);
    this.claimTurns.set(key, settled);
    void settled.then(() => {
      if (this.claimTurns.get(key) === settled) this.claimTurns.delete(key);
    });
    await turn;
  }

  /** How the volume's bytes are reached (its driver says). */
  access(pool: ActivePool, vol: VolumeFacts): AccessInfo {
    return pool.driver.access(pool.def, vol, pool.traits);
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

  /**
   * Runs a job on one volume: enters the pool and takes the volume's lock at once (IN_USE when busy),
   * reads the volume and runs `check` (its refusals are answered here, before any job exists), then
   * starts `work` as a job. The lock and the pool entry are held until the job ends.
   */
  async volumeJob<T>(
    poolName: string,
    name: string,
    operation: string,
    job: { kind: string; target: string },
    check: (pool: ActivePool, vol: VolumeInfo) => Promise<void> | void,
    work: (pool: ActivePool, vol: VolumeInfo, op: OpContext) => Promise<T>,
  ): Promise<{ job: JobInfo; done: Promise<T> }> {
    const pool = await this.gate.active(poolName);
    const leave = this.gate.enter(poolName);
    let release = () => {};
    let vol: VolumeInfo;
    let giveUp = async () => {};
    try {
      release = this.ctx.locks.tryAcquire(volumeLock(poolName, name), operation, `volume ${poolName}/${name}`);
      vol = await this.read(pool, name);
      await check(pool, vol);
      giveUp = await this.claim(pool, vol);
    } catch (e) {
      release();
      leave();
      throw e;
    }
    const started = this.ctx.jobs.run(job.kind, job.target, (op) =>
      work(pool, vol, op).finally(async () => {
        await giveUp();
        release();
        leave();
      }),
    );
    started.done.catch(observedElsewhere);
    return started;
  }
}
