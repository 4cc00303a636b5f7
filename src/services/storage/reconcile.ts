import { mapConcurrent } from '../../model/concurrency.js';
import { KvmpoolError } from '../../model/errors.js';
import type { VolumeFacts } from '../../model/volume-types.js';
import type { VolumeRecord } from '../../state/store.js';
import type { ServiceContext } from '../context.js';
import type { ActivePool } from './pool-gate.js';
import { known, volumeLock, type VolumeRecords } from './volume-records.js';

/** How many volumes are read at once (each may start a qemu-img). */
const READ_CONCURRENCY = 8;

type Pool = Pick<ActivePool, 'rec' | 'def' | 'driver'>;

/**
 * Makes the store match the pool's contents: volumes added outside appear (not managed by kvmpool),
 * volumes removed outside disappear, a file renamed outside keeps its key. Volumes busy with an
 * operation, or changed by kvmpool while the host was read, are left as they are. With `names`, only
 * those volumes are read again (the ones a change signal named); else the whole pool is.
 */
export async function reconcile(ctx: ServiceContext, records: VolumeRecords, pool: Pool, names?: readonly string[]): Promise<void> {
  const name = pool.rec.name;
  // One reconciliation per pool at a time, so a new file gets one key.
  await ctx.locks.with(`reconcile:${name}`, 'reconcile', async () => {
    const since = records.beginReconcile();
    try {
      const facts = names ? await readNames(ctx, pool, names) : await pool.driver.listVolumes(pool.def, new Map(ctx.store.volumes.list(name).map((v) => [v.name, known(v)])));
      // Whatever kvmpool changed while the host was read is newer than the listing: leave it.
      const settled = (volume: string) => !ctx.locks.holder(volumeLock(name, volume)) && !records.touchedSince(name, volume, since);
      ctx.store.transaction(() => {
        const stored = names ? names.flatMap((n) => ctx.store.volumes.get(name, n) ?? []) : ctx.store.volumes.list(name);
        const byName = new Map(stored.map((v) => [v.name, v]));
        const found = new Set(facts.map((f) => f.name));
        // Records whose volume is gone under its name may have been renamed outside: matched by identity.
        const vanished = new Map<string, VolumeRecord>();
        for (const v of stored) if (!found.has(v.name) && settled(v.name)) vanished.set(v.facts.identity, v);
        const seen = new Set<string>();
        for (const f of facts) {
          const same = byName.get(f.name);
          if (!settled(f.name)) {
            if (same) seen.add(same.key);
            continue;
          }
          const renamed = same ? undefined : vanished.get(f.identity);
          if (renamed) vanished.delete(f.identity);
          seen.add(records.remember(name, f, same ?? renamed).key);
        }
        for (const v of stored) if (!seen.has(v.key) && settled(v.name)) ctx.store.volumes.delete(v.key);
      });
    } finally {
      records.endReconcile();
    }
  });
}

/** Reads the named volumes; the ones that are gone are left out. */
async function readNames(ctx: ServiceContext, pool: Pool, names: readonly string[]): Promise<VolumeFacts[]> {
  const read = await mapConcurrent(names, READ_CONCURRENCY, async (n) => {
    const stored = ctx.store.volumes.get(pool.rec.name, n);
    return pool.driver.volumeInfo(pool.def, stored && known(stored), n).catch((e: unknown) => {
      if (e instanceof KvmpoolError && e.code === 'NOT_FOUND') return undefined;
      throw e;
    });
  });
  return read.filter((f): f is VolumeFacts => f !== undefined);
}
