import * as iproute from '../../host/iproute.js';
import type { BridgeVlan } from '../../host/iproute.js';
import { errors } from '../../model/errors.js';
import { vlanRuns } from '../../model/ifnames.js';
import type { NetworkDefinition, PortDefinition } from '../../model/network-types.js';
import type { NetworkDriver } from './driver.js';
import { bridgeDrift, checkShared, plugIntoBridge, startBridgeWithUplink, stopBridgeWithUplink } from './bridge-base.js';
import { checkUplink } from './uplink.js';

/** VLAN 1: the bridge's default, carried untagged on the uplink and on ports that name no VLAN (the host's own LAN). */
const DEFAULT_VLAN = 1;

/**
 * One VLAN-filtering bridge. A port is an access port (one VLAN, untagged), a trunk (tagged VLANs, one of
 * them optionally untagged as its native VLAN), or, naming none, a port of the untagged default VLAN.
 * The uplink is a trunk of every VLAN some port uses.
 */
export const vlanAwareDriver: NetworkDriver = {
  kind: 'vlan-aware',

  validate(def, others, host) {
    if (def.vlan !== undefined) throw errors.invalid('a vlan-aware network carries many VLANs: give them to its ports', { vlan: def.vlan });
    checkShared(def, others);
    if (def.uplink) checkUplink([...host], def.uplink, def.bridge);
  },

  validatePort(_def, port) {
    if (port.vlan !== undefined && port.trunk !== undefined) throw errors.invalid('a port is an access port (--vlan) or a trunk (--trunk), not both');
    if (port.native !== undefined && port.trunk === undefined) throw errors.invalid('--native is for trunk ports');
  },

  start: (def, options, r) => startBridgeWithUplink(def, options, r, true),
  stop: stopBridgeWithUplink,

  drift(def, host) {
    const drift = bridgeDrift(def, host, def.uplink);
    const bridge = host.find((l) => l.ifname === def.bridge);
    if (bridge && bridge.linkinfo?.info_data?.vlan_filtering !== 1) drift.push(`bridge ${def.bridge} does not filter VLANs`);
    return drift;
  },

  async plugPort(def, port, ports) {
    await iproute.setMaster(port.ifname, def.bridge);
    await setPortVlans(port);
    await plugIntoBridge(def.bridge, port.ifname);
    await syncUplink(def, ports);
  },

  portRemoved: syncUplink,
};

/** Gives a port exactly its VLANs (a new port starts in the default VLAN). */
async function setPortVlans(port: PortDefinition): Promise<void> {
  const named = port.vlan !== undefined || port.trunk !== undefined;
  if (!named) return;
  for (const v of await iproute.bridgeVlans(port.ifname)) await iproute.deleteBridgeVlan(port.ifname, v.vlan, v.vlanEnd);
  if (port.vlan !== undefined) await iproute.addBridgeVlan(port.ifname, port.vlan, { native: true });
  for (const [from, to] of vlanRuns(port.trunk ?? [])) await iproute.addBridgeVlan(port.ifname, from, { end: to });
  if (port.native !== undefined) await iproute.addBridgeVlan(port.ifname, port.native, { native: true });
}

/** Makes the uplink a trunk of exactly the VLANs in use (plus the untagged default). */
async function syncUplink(def: NetworkDefinition, ports: readonly PortDefinition[]): Promise<void> {
  if (!def.uplink) return;
  const wanted = new Set<number>();
  for (const p of ports) for (const v of [p.vlan, p.native, ...(p.trunk ?? [])]) if (v !== undefined && v !== DEFAULT_VLAN) wanted.add(v);
  const present = new Set(expand(await iproute.bridgeVlans(def.uplink)));
  for (const [from, to] of vlanRuns([...wanted].filter((v) => !present.has(v)).sort((a, b) => a - b))) await iproute.addBridgeVlan(def.uplink, from, { end: to });
  for (const [from, to] of vlanRuns([...present].filter((v) => v !== DEFAULT_VLAN && !wanted.has(v)).sort((a, b) => a - b))) await iproute.deleteBridgeVlan(def.uplink, from, to);
}

/** VLAN ids of `bridge vlan show` rows (which may be ranges). */
function expand(rows: readonly BridgeVlan[]): number[] {
  return rows.flatMap((r) => Array.from({ length: (r.vlanEnd ?? r.vlan) - r.vlan + 1 }, (_, i) => r.vlan + i));
}
