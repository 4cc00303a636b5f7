/** Plain types of host networks and their ports. */

/**
 * Network kinds: a plain bridge (optionally with an uplink NIC), one VLAN over an uplink (a sub-interface
 * UPLINK.ID in its own bridge), or one VLAN-filtering bridge whose ports are access or trunk ports.
 */
export const NETWORK_KINDS = ['bridge', 'vlan', 'vlan-aware'] as const;
export type NetworkKind = (typeof NETWORK_KINDS)[number];

export const NETWORK_STATES = ['inactive', 'running', 'degraded'] as const;
export type NetworkState = (typeof NETWORK_STATES)[number];

export const PORT_TYPES = ['tap', 'veth'] as const;
export type PortType = (typeof PORT_TYPES)[number];

/** What a user defines: persisted as-is. */
export interface NetworkDefinition {
  name: string;
  kind: NetworkKind;
  /** The bridge's interface name (default: the network's name). */
  bridge: string;
  /** The host NIC that joins the network to the outside (a trunk for VLAN kinds). */
  uplink?: string;
  /** vlan: the VLAN id. */
  vlan?: number;
  mtu?: number;
  autostart: boolean;
}

/** An address moved from the uplink to the bridge while the network runs (to be moved back on stop). */
export interface MovedAddress {
  family: 'inet' | 'inet6';
  /** `ADDRESS/PREFIX` */
  address: string;
  broadcast?: string;
  noprefixroute?: boolean;
}

/** A route through the uplink, moved with its addresses. */
export interface MovedRoute {
  family: 'inet' | 'inet6';
  dst: string;
  gateway?: string;
  metric?: number;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  /** The gateway is reachable on the link though no address's prefix covers it. */
  onlink?: boolean;
}

/** What starting a network changed on interfaces kvmpool did not create, so stop can undo exactly that. */
export interface UplinkChanges {
  addresses: MovedAddress[];
  routes: MovedRoute[];
  /** The uplink was down and start set it up. */
  broughtUp: boolean;
  /** The start was forced (the uplink carries the API's address): a start at boot is forced too. */
  forced?: boolean;
}

/** A port as defined: persisted. */
export interface PortDefinition {
  network: string;
  name: string;
  type: PortType;
  /** The interface on the bridge (the tap, or the bridge end of a veth pair). */
  ifname: string;
  /** veth: the other end, which the user moves into a namespace or container. */
  peer?: string;
  /** The MAC of the guest's NIC (tap) or of the veth peer. */
  mac: string;
  mtu?: number;
  /** Access VLAN (vlan-aware networks). */
  vlan?: number;
  /** Trunk VLANs (vlan-aware networks) and the one carried untagged. */
  trunk?: number[];
  native?: number;
  /** The VM or other user the port is given to. */
  usedBy?: string;
}

/** A network as the API returns it. */
export interface NetworkInfo extends NetworkDefinition {
  state: NetworkState;
  /** Why the network is degraded: what differs from its definition on the host. */
  drift?: string[];
  /** VLAN-kind networks: the sub-interface on the uplink. */
  vlanDevice?: string;
  ports: number;
}

/** A port as the API returns it. */
export interface PortInfo extends PortDefinition {
  /** present: the interface exists on the bridge; missing: the network is stopped or it vanished. */
  state: 'up' | 'down' | 'missing';
  /** Something holds it: a process has the tap open, or the veth peer left the host's namespace. */
  attached: boolean;
}
