import type { ApiServices, Handlers } from '../handlers.js';
import type { DefineNetworkInput } from '../../services/network/networks.js';
import type { CreatePortInput } from '../../services/network/ports.js';
import { NETWORK_FIELDS, PORT_FIELDS } from '../network-schemas.js';
import { withNulls } from '../nullable.js';

type NetworkOps = 'listNetworks' | 'defineNetwork' | 'getNetwork' | 'patchNetwork' | 'undefineNetwork' | 'startNetwork' | 'stopNetwork' | 'listPorts' | 'createPort' | 'getPort' | 'deletePort';

/** Handlers of the network and port operations. */
export function networkHandlers(s: ApiServices): Pick<Handlers, NetworkOps> {
  const net = <T extends object>(n: T) => withNulls(n, NETWORK_FIELDS);
  const port = <T extends object>(p: T) => withNulls(p, PORT_FIELDS);
  return {
    listNetworks: async () => ({ body: (await s.networks.list()).map(net) }),
    defineNetwork: async ({ body }) => ({ body: net(await s.networks.define(body as unknown as DefineNetworkInput)) }),
    getNetwork: async ({ params }) => ({ body: net(await s.networks.info(params['network']!)) }),
    patchNetwork: async ({ params, body }) => ({ body: net(await s.networks.setAutostart(params['network']!, body['autostart'] === true)) }),
    undefineNetwork: async ({ params }) => {
      await s.networks.undefine(params['network']!);
      return {};
    },
    startNetwork: async ({ params, body }) => ({ body: net(await s.networks.start(params['network']!, body['force'] === true)) }),
    stopNetwork: async ({ params, body }) => ({ body: net(await s.networks.stop(params['network']!, body['force'] === true)) }),
    listPorts: async ({ params }) => ({ body: (await s.ports.list(params['network']!)).map(port) }),
    createPort: async ({ params, body }) => ({ body: port(await s.ports.create(params['network']!, body as unknown as CreatePortInput)) }),
    getPort: async ({ params }) => ({ body: port(await s.ports.info(params['network']!, params['port']!)) }),
    deletePort: async ({ params, query }) => {
      await s.ports.delete(params['network']!, params['port']!, query['force'] === true);
      return {};
    },
  };
}
