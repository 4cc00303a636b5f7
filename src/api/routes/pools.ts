import type { ApiServices, Handlers } from '../handlers.js';
import { describeStorageType } from '../pool-schemas.js';

type PoolOps = 'version' | 'listStorageTypes' | 'listPools' | 'definePool' | 'findPoolSources' | 'getPool' | 'patchPool' | 'undefinePool' | 'buildPool' | 'startPool' | 'stopPool' | 'refreshPool' | 'deletePool' | 'extendPool' | 'shrinkPool';

/** Handlers of the daemon and pool operations. */
export function poolHandlers(s: ApiServices): Pick<Handlers, PoolOps> {
  return {
    version: async () => ({ body: { name: 'kvmpool', version: s.version, poolTypes: s.storageTypes.names() } }),
    listStorageTypes: async () => ({ body: s.storageTypes.list().map(describeStorageType) }),
    listPools: async () => ({ body: await s.pools.list() }),
    definePool: async ({ body }) => ({ body: await s.pools.define(body) }),
    findPoolSources: async ({ body }) => ({ body: await s.pools.sources(body) }),
    getPool: async ({ params }) => ({ body: await s.pools.info(params.pool) }),
    patchPool: async ({ params, body }) => ({ body: await s.pools.setAutostart(params.pool, body.autostart) }),
    undefinePool: async ({ params }) => {
      await s.pools.undefine(params.pool);
      return {};
    },
    buildPool: async ({ params, body }) => ({ body: await s.pools.build(params.pool, { overwrite: body.overwrite === true }) }),
    startPool: async ({ params }) => ({ body: await s.pools.start(params.pool) }),
    stopPool: async ({ params, body }) => ({ body: await s.pools.stop(params.pool, body.force === true) }),
    refreshPool: async ({ params }) => ({ body: await s.pools.refresh(params.pool) }),
    extendPool: async ({ params, body }) => ({ body: await s.pools.extend(params.pool, body.device) }),
    shrinkPool: async ({ params, body }) => ({ body: { job: await s.pools.shrink(params.pool, body.device) } }),
    deletePool: async ({ params, body }) => ({ body: await s.pools.delete(params.pool, body.force === true) }),
  };
}
