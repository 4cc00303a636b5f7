import { errors } from '../../model/errors.js';
import { NETWORK_KINDS, type NetworkKind } from '../../model/network-types.js';
import type { NetworkDriver } from './driver.js';
import { bridgeDriver } from './bridge.js';
import { vlanDriver } from './vlan.js';
import { vlanAwareDriver } from './vlan-aware.js';

const drivers: Record<NetworkKind, NetworkDriver> = { bridge: bridgeDriver, vlan: vlanDriver, 'vlan-aware': vlanAwareDriver };

/** The driver of a network kind; INVALID_ARGUMENT for an unknown kind. */
export function networkDriver(kind: string): NetworkDriver {
  if (!(NETWORK_KINDS as readonly string[]).includes(kind)) {
    throw errors.invalid(`unknown network kind '${kind}': expected ${NETWORK_KINDS.join(', ')}`, { kind });
  }
  return drivers[kind as NetworkKind];
}
