import * as iproute from '../../host/iproute.js';
import type { IpLink } from '../../host/iproute.js';
import { errors } from '../../model/errors.js';
import type { NetworkDefinition, UplinkChanges } from '../../model/network-types.js';
import type { Reverter } from '../../model/reverter.js';
import type { NetworkStartOptions } from './driver.js';
import { claimName, isOwned, networkAlias } from './owned-links.js';
import { checkApiAddress, checkUplink, moveUplinkToBridge, returnUplink } from './uplink.js';

/** Start, stop and drift of a network's bridge, with the uplink as one of its ports (bridge and vlan-aware kinds). */

/** Fails when another network uses the same bridge name or already holds the uplink. */
export function checkShared(def: NetworkDefinition, others: readonly NetworkDefinition[]): void {
  for (const o of others) {
    if (o.bridge === def.bridge) throw errors.exists('bridge', def.bridge);
    if (def.uplink && o.uplink === def.uplink && (def.kind !== 'vlan' || o.kind !== 'vlan')) {
      throw errors.inUse(`uplink '${def.uplink}' is already used by network '${o.name}'`, { uplink: def.uplink, network: o.name });
    }
  }
}

/** Creates the bridge (or adopts kvmpool's own from an earlier start), marks it as the network's and sets it up. */
export async function createBridge(def: NetworkDefinition, host: readonly IpLink[], options: { mtu?: number; mac?: string; vlanFiltering?: boolean }, r: Reverter): Promise<void> {
  const alias = networkAlias(def.name);
  if (!claimName([...host], def.bridge, alias)) {
    await iproute.addBridge(def.bridge, options);
    // Undone marked or not: a bridge left without the mark would be foreign to kvmpool forever.
    r.add(`delete bridge ${def.bridge}`, () => iproute.deleteLink(def.bridge));
    await iproute.setAlias(def.bridge, alias);
    if (options.mtu) await pinMtu(def.bridge, options.mtu);
  }
  await iproute.setUp(def.bridge, true);
}

/**
 * A bridge follows its smallest port's MTU unless its MTU was changed by hand; the kernel ignores a
 * change to the MTU it already has, so step off it and back: from then on the MTU stays.
 */
async function pinMtu(bridge: string, mtu: number): Promise<void> {
  await iproute.setMtu(bridge, mtu === 68 ? 69 : mtu - 1);
  await iproute.setMtu(bridge, mtu);
}

/**
 * Starts a bridge whose uplink (if any) is a port of it, moving the uplink's addresses and routes. Safe to
 * run on a network that is partly up (a start cut short, a repair): what is there and kvmpool's is kept.
 */
export async function startBridgeWithUplink(def: NetworkDefinition, options: NetworkStartOptions, r: Reverter, vlanFiltering: boolean): Promise<UplinkChanges | null> {
  const host = await iproute.links();
  const uplink = def.uplink ? checkUplink(host, def.uplink, def.bridge) : undefined;
  if (uplink) await checkApiAddress(uplink.ifname, options.apiHosts, options.force);
  if (uplink && def.mtu && def.mtu > uplink.mtu) throw errors.invalid(`MTU ${def.mtu} is larger than uplink ${uplink.ifname}'s (${uplink.mtu})`, { mtu: def.mtu });
  // The bridge takes the uplink's MAC, so the host keeps its identity on the network (DHCP, ARP caches).
  await createBridge(def, host, { mtu: def.mtu ?? uplink?.mtu, mac: uplink?.address, vlanFiltering }, r);
  return uplink ? moveUplinkToBridge(uplink, def.bridge, r) : null;
}

/** Gives the uplink what the bridge carries, then deletes the bridge (only kvmpool's). */
export async function stopBridgeWithUplink(def: NetworkDefinition, changes: UplinkChanges | null): Promise<string[]> {
  const bridge = await iproute.link(def.bridge);
  const ours = isOwned(bridge, networkAlias(def.name));
  const failed = def.uplink ? await returnUplink(def.uplink, ours ? bridge : undefined, changes) : [];
  if (ours) await iproute.deleteLink(def.bridge);
  return failed;
}

/** What is missing or out of place: the bridge, its state, and the uplink in it. */
export function bridgeDrift(def: NetworkDefinition, host: readonly IpLink[], port?: string): string[] {
  const bridge = host.find((l) => l.ifname === def.bridge);
  if (!bridge) return [`bridge ${def.bridge} is missing`];
  if (bridge.ifalias !== networkAlias(def.name)) return [`bridge ${def.bridge} is not kvmpool's`];
  const drift: string[] = [];
  if (!bridge.flags.includes('UP')) drift.push(`bridge ${def.bridge} is down`);
  if (port) {
    const up = host.find((l) => l.ifname === port);
    if (!up) drift.push(`${port} is missing`);
    else if (up.master !== def.bridge) drift.push(`${port} is not a port of ${def.bridge}`);
  }
  return drift;
}

/** Makes `ifname` a port of `bridge` and sets it up. */
export async function plugIntoBridge(bridge: string, ifname: string): Promise<void> {
  await iproute.setMaster(ifname, bridge);
  await iproute.setUp(ifname, true);
}
