import { Reverter } from '../../model/reverter.js';
import type { OpContext } from '../../model/op-context.js';
import type { VolumeFacts } from '../../model/volume-types.js';
import type { VolumeRecord } from '../../state/store.js';
import type { ServiceContext } from '../context.js';
import { announce, journaled } from '../operation.js';
import type { ActivePool } from './pool-gate.js';
import { JOURNAL_CREATE } from './journal-kinds.js';
import type { VolumeRecords } from './volume-records.js';


/**
 * Makes a new volume with `make` under the journal, the one way every new volume comes to be: a crash
 * before the record is written leaves a journal entry from which the next start discards the partial
 * volume (or records a complete one); a failure removes the volume. The caller holds the new volume's
 * lock, in a pool whose driver can delete volumes.
 */
export async function createUnderJournal(
  ctx: ServiceContext,
  records: VolumeRecords,
  pool: ActivePool,
  name: string,
  format: string,
  op: OpContext,
  make: (op: OpContext) => Promise<VolumeFacts>,
): Promise<VolumeRecord> {
  return journaled(ctx, JOURNAL_CREATE, { pool: pool.rec.name, name, format }, () =>
    Reverter.run(ctx.log, async (revert) => {
      const facts = await make(op);
      const remove = pool.driver.volumes?.delete;
      if (remove) revert.add(`delete ${pool.rec.name}/${name}`, () => remove(pool.def, facts, op));
      const record = records.recordNew(pool.rec.name, facts);
      announce(ctx, 'volume.created', `${pool.rec.name}/${name}`, `volume ${pool.rec.name}/${name}: created (${facts.format}, ${facts.capacity} bytes)`, { format: facts.format, capacity: facts.capacity });
      return record;
    }),
  );
}
