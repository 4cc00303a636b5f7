import { KvmpoolError } from '../../model/errors.js';
import type { PoolRecord } from '../../state/store.js';
import type { ServiceContext } from '../context.js';
import { JOURNAL_CREATE, JOURNAL_POOL_START, JOURNAL_RENAME } from './journal-kinds.js';
import type { PoolGate } from './pool-gate.js';
import type { VolumeRecords } from './volume-records.js';

/**
 * Repairs what a crash interrupted, from the journal (on daemon start): a create's partial volume is
 * discarded, and one it had already published (complete, but not yet recorded) is recorded as
 * kvmpool's; a rename cut between its two steps is completed; what a pool start cut short made on the
 * host (iscsi sessions and records) is removed. Entries of other services are left.
 */
export async function recoverVolumes(ctx: ServiceContext, gate: PoolGate, records: VolumeRecords): Promise<void> {
  for (const entry of ctx.store.journal.list()) {
    if (entry.kind !== JOURNAL_CREATE && entry.kind !== JOURNAL_RENAME && entry.kind !== JOURNAL_POOL_START) continue;
    const data = entry.data as { pool?: string; name?: string; format?: string; from?: string; to?: string; resumed?: boolean };
    const rec = data.pool === undefined ? undefined : ctx.store.pools.get(data.pool);
    // A pool of a type this daemon lacks keeps its entries for a daemon that has it.
    if (rec && !gate.known(rec)) continue;
    try {
      // A start cut short before the pool was recorded as running: what it made on the host goes
      // (not for a pool resumed after a daemon restart: VMs that outlived the daemon may use it).
      if (rec && entry.kind === JOURNAL_POOL_START && !rec.active && data.resumed !== true) {
        const pool = gate.view(rec);
        await pool.driver.forget?.(pool.def);
        ctx.log(`recover: removed what the interrupted start of pool ${rec.name} left on the host`);
      }
      if (rec && entry.kind === JOURNAL_CREATE && data.name) await recoverCreate(ctx, gate, records, rec, data.name, data.format ?? 'raw');
      if (rec && entry.kind === JOURNAL_RENAME && data.from && data.to) {
        const pool = gate.view(rec);
        await pool.driver.rename?.finish?.(pool.def, data.from, data.to);
        ctx.log(`recover: completed the interrupted rename of ${rec.name}/${data.from} to ${data.to}`);
      }
    } catch (e) {
      ctx.log(`recover: ${entry.kind} ${JSON.stringify(data)}: ${e instanceof Error ? e.message : String(e)}`);
      // What a cut start left stays to be removed at the next start (it may hold secrets).
      if (entry.kind === JOURNAL_POOL_START) continue;
    }
    ctx.store.journal.remove(entry.id);
  }
}

async function recoverCreate(ctx: ServiceContext, gate: PoolGate, records: VolumeRecords, rec: PoolRecord, name: string, format: string): Promise<void> {
  const pool = gate.view(rec);
  await pool.driver.volumes?.discardPartial?.(pool.def, name);
  const facts = await pool.driver.volumeInfo(pool.def, undefined, name).catch((e: unknown) => {
    if (e instanceof KvmpoolError && e.code === 'NOT_FOUND') return undefined;
    throw e;
  });
  if (facts && !ctx.store.volumes.get(rec.name, name)) {
    // Create refuses an existing name and holds the name's lock, so this volume is the one it made.
    const own = await pool.driver.volumeInfo(pool.def, { name, format, identity: facts.identity }, name);
    records.recordNew(rec.name, own);
    ctx.log(`recover: recorded ${rec.name}/${name}, completed before the interruption`);
  } else {
    ctx.log(`recover: discarded the interrupted create of ${rec.name}/${name}`);
  }
}
