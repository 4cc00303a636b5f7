import type { ApiServices, Handlers } from '../handlers.js';
import type { DefineNetworkInput } from '../../services/network/networks.js';
import type { CreatePortInput } from '../../services/network/ports.js';

type NetworkOps = 'listNetworks' | 'defineNetwork' | 'getNetwork' | 'patchNetwork' | 'undefineNetwork' | 'startNetwork' | 'stopNetwork' | 'listPorts' | 'createPort' | 'getPort' | 'deletePort';

/** Handlers of the network and port operations. */
export function networkHandlers(s: ApiServices): Pick<Handlers, NetworkOps> {
  return {
    listNetworks: async () => ({ body: await s.networks.list() }),
    defineNetwork: async ({ body }) => ({ body: await s.networks.define(body as unknown as DefineNetworkInput) }),
    getNetwork: async ({ params }) => ({ body: await s.networks.info(params['network']!) }),
    patchNetwork: async ({ params, body }) => ({ body: await s.networks.setAutostart(params['network']!, body['autostart'] === true) }),
    undefineNetwork: async ({ params }) => {
      await s.networks.undefine(params['network']!);
      return {};
    },
    startNetwork: async ({ params, body }) => ({ body: await s.networks.start(params['network']!, body['force'] === true) }),
    stopNetwork: async ({ params, body }) => ({ body: await s.networks.stop(params['network']!, body['force'] === true) }),
    listPorts: async ({ params }) => ({ body: await s.ports.list(params['network']!) }),
    createPort: async ({ params, body }) => ({ body: await s.ports.create(params['network']!, body as unknown as CreatePortInput) }),
    getPort: async ({ params }) => ({ body: await s.ports.info(params['network']!, params['port']!) }),
    deletePort: async ({ params, query }) => {
      await s.ports.delete(params['network']!, params['port']!, query['force'] === true);
      return {};
    },
  };
}
