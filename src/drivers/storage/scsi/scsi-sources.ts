import { Type } from 'typebox';
import { adapterDisks, scsiHosts } from '../../../host/scsi.js';
import type { FoundSource, SourceDiscovery } from '../driver.js';

/** A search of the machine's adapters takes nothing. */
export const ScsiSourcesQuery = Type.Object({}, { additionalProperties: false });

/** The machine's SCSI host adapters, with their drivers and disks, as the settings of a scsi pool. */
export const scsiSources: SourceDiscovery<typeof ScsiSourcesQuery> = {
  query: ScsiSourcesQuery,
  secrets: [],
  async find(): Promise<FoundSource[]> {
    const found: FoundSource[] = [];
    for (const h of await scsiHosts()) {
      const disks = (await adapterDisks(h.name)).filter((d) => d.device !== undefined);
      found.push({ source: { adapter: h.name }, details: `${h.driver || 'unknown driver'}: ${disks.length} disk(s)${disks.length ? ` (${disks.map((d) => d.device).join(', ')})` : ''}` });
    }
    return found;
  },
};
