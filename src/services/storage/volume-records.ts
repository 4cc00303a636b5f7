import { randomUUID } from 'node:crypto';
import { KvmpoolError } from '../../model/errors.js';
import { validateName } from '../../model/names.js';
import type { VolumeFacts } from '../../model/volume-types.js';
import type { KnownVolume } from '../../drivers/storage/driver.js';
import type { VolumeRecord } from '../../state/store.js';
import type { ServiceContext } from '../context.js';
import type { ActivePool } from './pool-gate.js';

/** Lock name of one volume. */
export const volumeLock = (pool: string, name: string) => `vol:${pool}/${name}`;

/** What the store knows of a volume, for the driver. */
export function known(v: VolumeRecord): KnownVolume {
  return { name: v.name, format: v.facts.format, identity: v.facts.identity, facts: v.facts };
}

/**
 * The store's records of volumes, kept in step with the host: a volume read fresh is recorded under
 * the key of the same file (a new one is foreign), one gone is forgotten. Changes made while a
 * reconciliation reads the host are marked, so the reconciliation leaves them as they are.
 */
export class VolumeRecords {
  private readonly touched = new Map<string, number>();
  private changes = 0;
  private reconciling = 0;

  constructor(private readonly ctx: ServiceContext) {}

  /** Notes that kvmpool changed a volume's record. */
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

  /**
   * Reads a volume fresh from the host and records it. A reader that does not hold the volume's lock
   * (`owner` false) leaves the store alone while another operation holds it.
   */
  async read(pool: ActivePool, name: string, owner = true): Promise<VolumeRecord> {
    validateName('volume', name);
    const p = pool.rec.name;
    const stored = this.ctx.store.volumes.get(p, name);
    const quiet = !owner && this.ctx.locks.holder(volumeLock(p, name)) !== undefined;
    let facts: VolumeFacts;
    try {
      facts = await pool.driver.volumeInfo(pool.def, stored && known(stored), name);
    } catch (e) {
      if (e instanceof KvmpoolError && e.code === 'NOT_FOUND' && stored && !quiet) this.forget(p, stored);
      throw e;
    }
    if (quiet) return stored && stored.facts.identity === facts.identity ? { ...stored, facts } : { key: '', pool: p, name, managed: facts.marked === true, created: '', facts };
    this.touch(p, name);
    return this.remember(p, facts, stored);
  }

  /** Drops a volume's record (it is gone from the host). */
  forget(pool: string, v: { key: string; name: string }): void {
    this.ctx.store.volumes.delete(v.key);
    this.touch(pool, v.name);
  }

  /** Stores facts under the record they belong to (same file), or as a new foreign volume; unchanged facts are not written again. */
  remember(pool: string, facts: VolumeFacts, stored: VolumeRecord | undefined): VolumeRecord {
    const same = stored && stored.facts.identity === facts.identity;
    if (same && stored.name === facts.name && sameFacts(stored.facts, facts)) return stored;
    const record: VolumeRecord = same
      ? { ...stored, name: facts.name, facts }
      : { key: randomUUID(), pool, name: facts.name, managed: facts.marked === true, created: new Date().toISOString(), facts };
    this.ctx.store.volumes.put(record);
    return record;
  }

  /**
   * Records new facts of a volume kvmpool just changed, under the same key (its name or its file may be
   * new: a rename, a revert). The caller holds the volume's lock.
   */
  update(pool: string, vol: Pick<VolumeRecord, 'key' | 'name' | 'managed' | 'created'>, facts: VolumeFacts): VolumeRecord {
    const record: VolumeRecord = { key: vol.key, pool, name: facts.name, managed: vol.managed, created: vol.created, facts };
    this.ctx.store.volumes.put(record);
    this.touch(pool, vol.name);
    this.touch(pool, facts.name);
    return record;
  }

  /** Records a volume kvmpool just made. */
  recordNew(pool: string, facts: VolumeFacts): VolumeRecord {
    const record: VolumeRecord = { key: randomUUID(), pool, name: facts.name, managed: true, created: new Date().toISOString(), facts };
    this.ctx.store.volumes.put(record);
    this.touch(pool, facts.name);
    return record;
  }
}

/** Whether two readings of a volume say the same (facts are flat, but for the list of warnings). */
function sameFacts(a: VolumeFacts, b: VolumeFacts): boolean {
  const keys = Object.keys(a) as (keyof VolumeFacts)[];
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => {
    const x = a[k];
    const y = b[k];
    return Array.isArray(x) && Array.isArray(y) ? x.length === y.length && x.every((w, i) => w === y[i]) : x === y;
  });
}
