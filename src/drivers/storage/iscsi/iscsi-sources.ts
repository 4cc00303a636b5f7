import { Type, type Static } from 'typebox';
import { parsePortal, sendTargets } from '../../../host/iscsi.js';
import type { FoundSource, SourceDiscovery } from '../driver.js';

/** What a search of a portal takes. */
export const IscsiSourcesQuery = Type.Object(
  { portal: Type.String({ minLength: 1, maxLength: 300, description: 'the portal to ask (sendtargets), HOST[:PORT]' }) },
  { additionalProperties: false },
);

/** The targets a portal offers (sendtargets), each with the portals it answers at, as the settings of an iscsi pool. */
export const iscsiSources: SourceDiscovery<typeof IscsiSourcesQuery> = {
  query: IscsiSourcesQuery,
  secrets: [],
  async find(q: Static<typeof IscsiSourcesQuery>): Promise<FoundSource[]> {
    const byTarget = new Map<string, string[]>();
    for (const t of await sendTargets(parsePortal(q.portal), 20_000)) byTarget.set(t.target, [...(byTarget.get(t.target) ?? []), t.portal]);
    return [...byTarget].map(([iqn, portals]) => ({ source: { portals, iqn }, details: `portals: ${portals.join(', ')}` }));
  },
};
