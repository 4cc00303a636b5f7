import type { NetworkInfo, PortInfo } from '../../model/network-types.js';
import type { ApiServices, Handlers } from '../handlers.js';
import { NETWORK_FIELDS, PORT_FIELDS } from '../network-schemas.js';
import { withNulls } from '../nullable.js';

type NetworkOps = 'listNetworks' | 'defineNetwork' | 'getNetwork' | 'patchNetwork' | 'undefineNetwork' | 'startNetwork' | 'stopNetwork' | 'listPorts' | 'createPort' | 'getPort' | 'deletePort';

/** Handlers of the network and port operations. */
export function networkHandlers(s: ApiServices): Pick<Handlers, NetworkOps> {
  const net = (n: NetworkInfo) => withNulls(n, NETWORK_FIELDS);
  const port = (p: PortInfo) => withNulls(p, PORT_FIELDS);
  return {
    listNetworks: async () => ({ body: (await s.networks.list()).map(net) }),
    defineNetwork: async ({ body }) => ({ body: net(await s.networks.define(body)) }),
    getNetwork: async ({ params }) => ({ body: net(await s.networks.info(params.network)) }),
    patchNetwork: async ({ params, body }) => ({ body: net(await s.networks.setAutostart(params.network, body.autostart)) }),
    undefineNetwork: async ({ params }) => {
      await s.networks.undefine(params.network);
      return {};
    },
    startNetwork: async ({ params, body }) => ({ body: net(await s.networks.start(params.network, body.force === true)) }),
    stopNetwork: async ({ params, body }) => ({ body: net(await s.networks.stop(params.network, body.force === true)) }),
    listPorts: async ({ params }) => ({ body: (await s.ports.list(params.network)).map(port) }),
    createPort: async ({ params, body }) => ({ body: port(await s.ports.create(params.network, body)) }),
    getPort: async ({ params }) => ({ body: port(await s.ports.info(params.network, params.port)) }),
    deletePort: async ({ params, query }) => {
      await s.ports.delete(params.network, params.port, query.force === true);
      return {};
    },
  };
}
