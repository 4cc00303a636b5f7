import { errors } from '../../model/errors.js';
import type { NetworkDriver } from './driver.js';
import { bridgeDrift, checkShared, plugIntoBridge, startBridgeWithUplink, stopBridgeWithUplink } from './bridge-base.js';
import { checkUplink } from './uplink.js';

/** A plain Linux bridge; with an uplink NIC, which becomes one of its ports and hands it its addresses. */
export const bridgeDriver: NetworkDriver = {
  kind: 'bridge',

  validate(def, others, host) {
    if (def.vlan !== undefined) throw errors.invalid("a bridge network has no VLAN: use --kind vlan or vlan-aware", { vlan: def.vlan });
    checkShared(def, others);
    if (def.uplink) checkUplink([...host], def.uplink, def.bridge);
  },

  validatePort(_def, port) {
    if (port.vlan !== undefined || port.trunk !== undefined || port.native !== undefined) {
      throw errors.notSupported('ports of a bridge network carry no VLANs: use a vlan or vlan-aware network');
    }
  },

  start: (def, options, r) => startBridgeWithUplink(def, options, r, false),
  stop: stopBridgeWithUplink,
  drift: (def, host) => bridgeDrift(def, host, def.uplink),

  plugPort: (def, port) => plugIntoBridge(def.bridge, port.ifname),

  async portRemoved() {},
};
