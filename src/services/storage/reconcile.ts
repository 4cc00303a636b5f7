import { releaseMemorySoon } from '../../host/memory.js';
import { mapConcurrent } from '../../model/concurrency.js';
import { KvmpoolError } from '../../model/errors.js';
import type { VolumeFacts } from '../../model/volume-types.js';
import type { VolumeScan } from '../../drivers/storage/driver.js';
import type { VolumeRecord } from '../../state/store.js';
import type { ServiceContext } from '../context.js';
import type { ActivePool } from './pool-gate.js';
import { known, volumeLock, type VolumeRecords } from './volume-records.js';

/** How many volumes are read at once (each may start a qemu-img). */
const READ_CONCURRENCY = 8;
/** Volumes read and recorded per slice of a whole pool: what is held in memory at once. */
const SLICE = 1000;

type Pool = Pick<ActivePool, 'rec' | 'def' | 'driver'>;

/**
 * Makes the store match the pool's contents: volumes added outside appear (not managed by kvmpool),
 * volumes removed outside disappear, a file renamed outside keeps its key. Volumes busy with an
 * operation, or changed by kvmpool while the host was read, are left as they are (their names are
 * returned). With `names`, only those volumes are read again (the ones a change signal named); else
 * the whole pool is, a slice at a time.
 */
export async function reconcile(ctx: ServiceContext, records: VolumeRecords, pool: Pool, names?: readonly string[]): Promise<string[]> {
  const name = pool.rec.name;
  // One reconciliation per pool at a time, so a new file gets one key.
  return ctx.locks.with(`reconcile:${name}`, 'reconcile', async () => {
    const since = records.beginReconcile();
    try {
      // Whatever kvmpool changed while the host was read is newer than the listing: leave it.
      const settled = (volume: string) => !ctx.locks.holder(volumeLock(name, volume)) && !records.touchedSince(name, volume, since);
      // Records whose volume is gone under its name, by identity: a rename outside keeps its key.
      const vanished = new Map<string, VolumeRecord>();
      const slice = new Slice(ctx, records, name, settled, vanished);
      let read = 0; // volumes of a whole-pool read
      if (names) {
        // What stands on a volume that changed names it (a clone its parent): it is read again too.
        names = [...new Set([...names, ...names.flatMap((n) => ctx.store.volumes.backedBy(name, n))])];
        // Volumes an operation holds are not read now: the operation records them.
        const held = new Set(names.filter((n) => ctx.locks.holder(volumeLock(name, n))));
        const free = names.filter((n) => !held.has(n));
        slice.apply(free, await readNames(ctx, pool, free));
        slice.held.push(...held);
      } else {
        const scan = await scanOf(ctx, pool);
        read = scan.names.length;
        const present = new Set(scan.names);
        const gone = ctx.store.volumes.names(name).filter((n) => !present.has(n));
        for (const v of ctx.store.volumes.getMany(name, gone)) if (settled(v.name)) vanished.set(v.facts.identity, v);
        for (let i = 0; i < scan.names.length; i += SLICE) {
          const some = scan.names.slice(i, i + SLICE);
          const stored = ctx.store.volumes.getMany(name, some);
          const facts = await scan.read(some, new Map(stored.map((v) => [v.name, known(v)])));
          slice.apply(some, facts, stored);
        }
      }
      ctx.store.transaction(() => {
        for (const v of vanished.values()) if (settled(v.name) && ctx.store.volumes.get(name, v.name)?.key === v.key) ctx.store.volumes.delete(v.key);
      });
      if (!names) releaseMemorySoon(read);
      return slice.held;
    } finally {
      records.endReconcile();
    }
  });
}

/** Records what was read of some volumes of a pool, in one transaction. */
class Slice {
  /** Names left as they were: an operation held them, or changed them while they were read. */
  readonly held: string[] = [];

  constructor(
    private readonly ctx: ServiceContext,
    private readonly records: VolumeRecords,
    private readonly pool: string,
    private readonly settled: (volume: string) => boolean,
    private readonly vanished: Map<string, VolumeRecord>,
  ) {}

  /**
   * `facts`: what was read of the volumes `scope` names; one missing from it is gone (or renamed).
   * `before`: their records as read before the host was (else read now). A record kvmpool changed since
   * is not settled, so it is left alone either way.
   */
  apply(scope: readonly string[], facts: readonly VolumeFacts[], before?: readonly VolumeRecord[]): void {
    this.ctx.store.transaction(() => {
      const stored = new Map((before ?? this.ctx.store.volumes.getMany(this.pool, scope)).map((v) => [v.name, v]));
      const found = new Set(facts.map((f) => f.name));
      for (const v of stored.values()) {
        if (found.has(v.name)) continue;
        if (this.settled(v.name)) this.vanished.set(v.facts.identity, v);
        else this.held.push(v.name);
      }
      for (const f of facts) {
        if (!this.settled(f.name)) {
          this.held.push(f.name);
          continue;
        }
        const same = stored.get(f.name);
        const renamed = same ? undefined : this.vanished.get(f.identity);
        if (renamed) this.vanished.delete(f.identity);
        this.records.remember(this.pool, f, same ?? renamed);
      }
    });
  }
}

/** The driver's scan, or, for a type without one, its whole listing read at once. */
async function scanOf(ctx: ServiceContext, pool: Pool): Promise<VolumeScan> {
  if (pool.driver.scan) return pool.driver.scan(pool.def);
  const all = await pool.driver.listVolumes(pool.def, new Map(ctx.store.volumes.list(pool.rec.name).map((v) => [v.name, known(v)])));
  const byName = new Map(all.map((f) => [f.name, f]));
  return { names: [...byName.keys()], read: async (some) => some.flatMap((n) => byName.get(n) ?? []) };
}

/** Reads the named volumes; the ones that are gone are left out. */
async function readNames(ctx: ServiceContext, pool: Pool, names: readonly string[]): Promise<VolumeFacts[]> {
  if (pool.driver.readVolumes) return pool.driver.readVolumes(pool.def, names, new Map(ctx.store.volumes.getMany(pool.rec.name, names).map((v) => [v.name, known(v)])));
  const read = await mapConcurrent(names, READ_CONCURRENCY, async (n) => {
    const stored = ctx.store.volumes.get(pool.rec.name, n);
    return pool.driver.volumeInfo(pool.def, stored && known(stored), n).catch((e: unknown) => {
      if (e instanceof KvmpoolError && e.code === 'NOT_FOUND') return undefined;
      throw e;
    });
  });
  return read.filter((f): f is VolumeFacts => f !== undefined);
}
