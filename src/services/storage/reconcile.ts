import type { VolumeRecord } from '../../state/store.js';
import type { ServiceContext } from '../context.js';
import type { ActivePool } from './pool-gate.js';
import { known, volumeLock, type VolumeRecords } from './volume-records.js';

/**
 * Makes the store match the pool's contents: volumes added outside appear (not managed by kvmpool),
 * volumes removed outside disappear, a file renamed outside keeps its key. Volumes busy with an
 * operation, or changed by kvmpool while the host was read, are left as they are.
 */
export async function reconcile(ctx: ServiceContext, records: VolumeRecords, pool: Pick<ActivePool, 'rec' | 'def' | 'driver'>): Promise<VolumeRecord[]> {
  const name = pool.rec.name;
  // One reconciliation per pool at a time, so a new file gets one key.
  await ctx.locks.with(`reconcile:${name}`, 'reconcile', async () => {
    const since = records.beginReconcile();
    try {
      const before = ctx.store.volumes.list(name);
      const facts = await pool.driver.listVolumes(pool.def, new Map(before.map((v) => [v.name, known(v)])));
      // Whatever kvmpool changed while the host was read is newer than the listing: leave it.
      const settled = (volume: string) => !ctx.locks.holder(volumeLock(name, volume)) && !records.touchedSince(name, volume, since);
      ctx.store.transaction(() => {
        const stored = ctx.store.volumes.list(name);
        const seen = new Set<string>();
        for (const f of facts) {
          const byName = stored.find((v) => v.name === f.name);
          if (!settled(f.name)) {
            if (byName) seen.add(byName.key);
            continue;
          }
          const match = byName ?? stored.find((v) => v.facts.identity === f.identity && !seen.has(v.key) && settled(v.name));
          seen.add(records.remember(name, f, match).key);
        }
        for (const v of stored) if (!seen.has(v.key) && settled(v.name)) ctx.store.volumes.delete(v.key);
      });
    } finally {
      records.endReconcile();
    }
  });
  return ctx.store.volumes.list(name);
}
