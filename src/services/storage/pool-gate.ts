import { KvmpoolError, errors } from '../../model/errors.js';
import { validateName } from '../../model/names.js';
import type { PoolTraits } from '../../model/capabilities.js';
import type { PoolDefinition } from '../../model/pool-types.js';
import type { AnyStorageType, StorageDriver } from '../../drivers/storage/driver.js';
import type { PoolRecord } from '../../state/store.js';
import type { ServiceContext } from '../context.js';
import { definitionOf } from './pool-definitions.js';

/** A running pool as volume operations see it: its record, definition, type and driver. */
export interface ActivePool {
  rec: PoolRecord;
  def: PoolDefinition;
  type: AnyStorageType;
  driver: StorageDriver;
  traits: PoolTraits;
}

/** NOT_SUPPORTED for a pool whose type this daemon does not have. */
export function unknownType(rec: PoolRecord): KvmpoolError {
  return errors.notSupported(`pool '${rec.name}' is of type ${rec.type}, which this kvmpool does not have`, { pool: rec.name, type: rec.type });
}

/** POOL_NOT_ACTIVE for `name`. */
export function notActive(name: string): KvmpoolError {
  return new KvmpoolError('POOL_NOT_ACTIVE', `pool '${name}' is not running: start it first`, { pool: name });
}

/**
 * The gate volume operations pass: a pool must be running and healthy, and while volume operations
 * run in it, it cannot stop, be deleted or undefined (and no new one starts while it closes). Keeps
 * what each pool's storage can do, probed when it starts.
 */
export class PoolGate {
  private readonly traits = new Map<string, PoolTraits>();
  private readonly inFlight = new Map<string, number>();
  private readonly closing = new Set<string>();

  constructor(private readonly ctx: ServiceContext) {}

  /** Whether this daemon has the pool's type (a store may hold pools of a type another build had). */
  known(rec: PoolRecord): boolean {
    return this.ctx.storageTypes.find(rec.type) !== undefined;
  }

  /** The pool as volume operations see it, given its record; NOT_SUPPORTED when this daemon lacks its type. */
  view(rec: PoolRecord): ActivePool {
    const type = this.ctx.storageTypes.find(rec.type);
    if (!type) throw unknownType(rec);
    return { rec, def: definitionOf(this.ctx, rec), type, driver: type.driver as StorageDriver, traits: this.traits.get(rec.name) ?? { reflink: false, directIO: false } };
  }

  /**
   * A running, healthy pool: NOT_FOUND, POOL_NOT_ACTIVE, or POOL_DEGRADED (its storage is missing or
   * unreadable, so nothing in it may be read as gone or changed).
   */
  async active(name: string): Promise<ActivePool> {
    validateName('pool', name);
    const rec = this.ctx.store.pools.get(name);
    if (!rec) throw errors.notFound('pool', name);
    if (!rec.active || this.closing.has(name)) throw notActive(name);
    const pool = this.view(rec);
    const status = await pool.driver.status(pool.def, false);
    if (status.state === 'degraded' && status.usable !== true) throw new KvmpoolError('POOL_DEGRADED', `pool '${name}' is degraded: ${status.reason ?? 'unknown reason'}`, { pool: name, reason: status.reason });
    if (!this.traits.has(name)) await this.probe(pool);
    if (this.closing.has(name)) throw notActive(name);
    return { ...pool, traits: this.traits.get(name)! };
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
  async inPool<T>(name: string, work: (pool: ActivePool) => Promise<T>): Promise<T> {
    const pool = await this.active(name);
    const leave = this.enter(name);
    try {
      return await work(pool);
    } finally {
      leave();
    }
  }

  /** For stop, delete and undefine: IN_USE while volume operations run; else no new ones start until the returned function is called. */
  close(pool: string): () => void {
    const running = this.inFlight.get(pool) ?? 0;
    if (running > 0) throw errors.inUse(`pool '${pool}' has ${running} volume operation(s) in progress`, { pool, operations: running });
    this.closing.add(pool);
    return () => this.closing.delete(pool);
  }

  /** Probes the pool's storage again (on start and refresh). */
  async probe(pool: Pick<ActivePool, 'rec' | 'def' | 'driver'>): Promise<PoolTraits> {
    const t = await pool.driver.probe(pool.def);
    this.traits.set(pool.rec.name, t);
    return t;
  }
}
