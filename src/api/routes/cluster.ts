import type { ApiServices, Handlers } from '../handlers.js';

/** Handlers of the cluster operations. */
export function clusterHandlers(s: ApiServices): Pick<Handlers, 'clusterStatus' | 'initCluster' | 'joinCluster'> {
  return {
    clusterStatus: async () => ({ body: await s.cluster.status() }),
    initCluster: async ({ body }) => ({ body: await s.cluster.init(body) }),
    joinCluster: async ({ body }) => ({ body: await s.cluster.join(body) }),
  };
}
