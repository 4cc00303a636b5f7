import * as iproute from '../../host/iproute.js';
import type { IpLink } from '../../host/iproute.js';
import { hostSideMac } from '../../model/ifnames.js';
import { Reverter } from '../../model/reverter.js';
import type { PortDefinition, PortInfo } from '../../model/network-types.js';
import { claimName, deleteOwned, isOwned, portAlias } from './owned-links.js';

/** The interfaces of a port: a tap, or a veth pair whose bridge end is `ifname`. */

/**
 * Creates a port's interfaces, or adopts them when kvmpool made them before; returns whether it created
 * them. Without an MTU of its own a port takes its bridge's (a bridge drops to its smallest port's).
 * A create that fails part way deletes what it made (an undo that fails goes to `log`).
 */
export async function createPortLinks(port: PortDefinition, bridge: string, mtu: number | undefined, log: (message: string) => void): Promise<boolean> {
  const host = await iproute.links();
  const alias = portAlias(port.network, port.name);
  if (claimName(host, port.ifname, alias)) return false;
  if (port.peer) claimName(host, port.peer, alias);
  mtu ??= host.find((l) => l.ifname === bridge)?.mtu;
  // The bridge end gets a MAC the bridge never picks as its own; `mac` is what the guest or container uses.
  const mac = hostSideMac(port.mac);
  await Reverter.run(log, async (r) => {
    if (port.type === 'tap') await iproute.addTap(port.ifname);
    else await iproute.addVeth(port.ifname, port.peer!, { mac, peerMac: port.mac, mtu });
    // Undone marked or not: an interface left without the mark would be foreign to kvmpool forever.
    r.add(`delete ${port.ifname}`, () => iproute.deleteLink(port.ifname));
    await iproute.setAlias(port.ifname, alias);
    if (port.type === 'tap') await iproute.setMac(port.ifname, mac, mtu);
    else await iproute.setAlias(port.peer!, alias);
  });
  return true;
}

/** Deletes a port's interfaces (deleting one end of a veth deletes both, wherever the peer is). */
export async function deletePortLinks(port: PortDefinition): Promise<void> {
  await deleteOwned(port.ifname, portAlias(port.network, port.name));
}

/** Whether a port's interface is there, and up on its bridge. */
export function portLinkState(port: PortDefinition, host: readonly IpLink[], bridge: string): PortInfo['state'] {
  const l = host.find((x) => x.ifname === port.ifname);
  if (!isOwned(l, portAlias(port.network, port.name))) return 'missing';
  return l.master === bridge && l.flags.includes('UP') ? 'up' : 'down';
}

/**
 * Whether something holds a port: a process has the tap open (`tapsHeld`, from tapsInUse), or the veth's
 * peer left for a namespace.
 */
export function portAttached(port: PortDefinition, host: readonly IpLink[], tapsHeld: ReadonlySet<string>): boolean {
  if (!isOwned(host.find((x) => x.ifname === port.ifname), portAlias(port.network, port.name))) return false;
  return port.type === 'tap' ? tapsHeld.has(port.ifname) : !host.some((x) => x.ifname === port.peer);
}
