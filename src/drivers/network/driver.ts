import type { IpLink } from '../../host/iproute.js';
import type { NetworkDefinition, NetworkKind, PortDefinition, UplinkChanges } from '../../model/network-types.js';
import type { Reverter } from '../../model/reverter.js';

/** How a network is being started. */
export interface NetworkStartOptions {
  /** Hosts the API listens on (an uplink carrying one is refused unless `force`). */
  apiHosts: readonly string[];
  force: boolean;
}

/**
 * One network kind on the host. Drivers know interfaces, never the store or HTTP; everything they
 * create carries kvmpool's alias (owned-links.ts) and nothing else is deleted.
 */
export interface NetworkDriver {
  kind: NetworkKind;
  /** Checks a definition against the host and the other networks; throws with a stable code. */
  validate(def: NetworkDefinition, others: readonly NetworkDefinition[], host: readonly IpLink[]): void;
  /** Checks a port's VLAN settings against the network. */
  validatePort(def: NetworkDefinition, port: Pick<PortDefinition, 'vlan' | 'trunk' | 'native'>): void;
  /** Creates the network's interfaces; each step registers its undo in `r`. Returns what it changed on the uplink. */
  start(def: NetworkDefinition, options: NetworkStartOptions, r: Reverter): Promise<UplinkChanges | null>;
  /**
   * Removes the network's interfaces (ports are gone already) and gives the uplink back its addresses
   * and routes (`changes` are what start moved). Returns what could not be put back.
   */
  stop(def: NetworkDefinition, changes: UplinkChanges | null): Promise<string[]>;
  /** What differs on the host from the running network (ports aside); empty when all is in place. */
  drift(def: NetworkDefinition, host: readonly IpLink[]): string[];
  /** Plugs an existing port interface in (bridge, VLANs); `ports` are all the network's ports, this one included. */
  plugPort(def: NetworkDefinition, port: PortDefinition, ports: readonly PortDefinition[]): Promise<void>;
  /** Called after a port is gone; `ports` are those left. */
  portRemoved(def: NetworkDefinition, ports: readonly PortDefinition[]): Promise<void>;
  /** The VLAN sub-interface the network adds to its uplink, if any. */
  vlanDevice?(def: NetworkDefinition): string;
}
