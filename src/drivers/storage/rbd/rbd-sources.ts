import { Type, type Static } from 'typebox';
import { KvmpoolError } from '../../../model/errors.js';
import { cephJson, rbd, rbdJson, type RbdConnection } from '../../../host/rbd.js';
import type { FoundSource, SourceDiscovery } from '../driver.js';
import { checkRbdSource } from './rbd-settings.js';

/** What a search of a Ceph cluster takes: where it is and who asks. */
export const RbdSourcesQuery = Type.Object(
  {
    monitors: Type.Array(Type.String({ minLength: 1, maxLength: 300 }), { minItems: 1, maxItems: 16, description: "the cluster's monitors, HOST[:PORT]" }),
    user: Type.String({ minLength: 1, maxLength: 128, description: 'the cephx user (without "client.")' }),
    key: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "the user's cephx key; required" })),
  },
  { additionalProperties: false },
);

/** Whether the user may list the images of a pool (or namespace): its caps decide. */
async function mayUse(c: RbdConnection, pool: string, namespace?: string): Promise<boolean> {
  try {
    await rbd(c, ['ls', '--pool', pool, ...(namespace ? ['--namespace', namespace] : [])], `Ceph pool ${pool}`);
    return true;
  } catch (e) {
    if (e instanceof KvmpoolError && e.code === 'AUTH_FAILED' && /caps/.test(e.message)) return false;
    throw e;
  }
}

/** The RBD pools of a cluster (and their namespaces) the user may use, each as the settings of an rbd pool. */
export const rbdSources: SourceDiscovery<typeof RbdSourcesQuery> = {
  query: RbdSourcesQuery,
  secrets: ['key'],
  async find(q: Static<typeof RbdSourcesQuery>, secrets): Promise<FoundSource[]> {
    const { monitors, user } = checkRbdSource({ monitors: q.monitors, user: q.user, rbdPool: 'x' }, secrets['key'] !== undefined);
    const c: RbdConnection = { monitors, user, keyFile: secrets['key']! };
    const pools = await cephJson<{ pool_name: string; application_metadata?: Record<string, unknown> }[]>(c, ['osd', 'pool', 'ls', 'detail'], 'the pools of the cluster');
    const found: FoundSource[] = [];
    for (const p of pools.filter((x) => x.application_metadata?.['rbd'] !== undefined)) {
      if (!(await mayUse(c, p.pool_name))) continue;
      found.push({ source: { monitors, rbdPool: p.pool_name, user }, details: 'an RBD pool' });
      const namespaces = (await rbdJson<{ name: string }[]>(c, ['namespace', 'ls', '--pool', p.pool_name], `the namespaces of Ceph pool ${p.pool_name}`)) ?? [];
      for (const n of namespaces) found.push({ source: { monitors, rbdPool: p.pool_name, namespace: n.name, user }, details: `a namespace of RBD pool ${p.pool_name}` });
    }
    return found;
  },
};
