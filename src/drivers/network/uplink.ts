import * as iproute from '../../host/iproute.js';
import type { IpLink } from '../../host/iproute.js';
import { KvmpoolError, errors } from '../../model/errors.js';
import type { UplinkChanges } from '../../model/network-types.js';
import type { Reverter } from '../../services/reverter.js';

/**
 * Checks that `uplink` can join a network: it exists, and is neither a bond's slave nor a port of a
 * bridge (other than `bridge`, the network's own).
 */
export function checkUplink(all: IpLink[], uplink: string, bridge?: string): IpLink {
  const l = all.find((x) => x.ifname === uplink);
  if (!l) throw errors.notFound('interface', uplink);
  const slaveKind = l.linkinfo?.info_slave_kind;
  if (slaveKind === 'bond' || (l.master && all.find((m) => m.ifname === l.master)?.linkinfo?.info_kind === 'bond')) {
    throw errors.inUse(`uplink '${uplink}' is a slave of bond '${l.master}': use the bond as the uplink`, { uplink, master: l.master });
  }
  if (l.master && l.master !== bridge) throw errors.inUse(`uplink '${uplink}' is already a port of '${l.master}'`, { uplink, master: l.master });
  if (l.linkinfo?.info_kind === 'bridge') throw errors.invalid(`uplink '${uplink}' is a bridge: name a NIC, bond or VLAN interface`, { uplink });
  if (uplink === 'lo') throw errors.invalid("the loopback interface cannot be an uplink", { uplink });
  return l;
}

/**
 * Refuses to take the addresses off an uplink that carries the address the API listens on (the move
 * would cut the connection a user is managing the host through), unless forced. `apiHosts` are the
 * listen hosts; a wildcard host means every address.
 */
export async function checkApiAddress(uplink: string, apiHosts: readonly string[], force: boolean): Promise<void> {
  if (force || apiHosts.length === 0) return;
  const wildcard = apiHosts.some((h) => h === '0.0.0.0' || h === '::' || h === '');
  const carried = (await iproute.addresses(uplink)).map((a) => a.address.split('/')[0]!);
  const hit = carried.find((a) => wildcard || apiHosts.includes(a));
  if (hit) {
    throw new KvmpoolError('IN_USE', `uplink '${uplink}' carries ${hit}, where the kvmpool API listens: moving it to the bridge cuts that connection (use force to do it anyway)`, { uplink, address: hit });
  }
}

/**
 * Plugs `uplink` into `bridge` and moves its addresses and routes onto the bridge, so the host keeps its
 * connectivity. Every step registers its undo in `r`. Returns what changed, for `restoreUplink`.
 */
export async function moveUplinkToBridge(uplink: IpLink, bridge: string, r: Reverter): Promise<UplinkChanges> {
  const name = uplink.ifname;
  const addresses = await iproute.addresses(name);
  const routes = await iproute.routes(name);
  const broughtUp = !uplink.flags.includes('UP');
  await iproute.setMaster(name, bridge);
  r.add(`unplug ${name} from ${bridge}`, () => iproute.setMaster(name, null));
  if (broughtUp) {
    await iproute.setUp(name, true);
    r.add(`set ${name} down`, () => iproute.setUp(name, false));
  }
  const changes: UplinkChanges = { addresses, routes, broughtUp };
  // Removing an address also removes the routes through it: one undo puts both back, in order.
  r.add(`put the addresses and routes back on ${name}`, () => restoreOnUplink(name, changes));
  for (const a of addresses) await iproute.deleteAddress(name, a);
  for (const a of addresses) await iproute.addAddress(bridge, a);
  for (const route of routes) await iproute.addRoute(bridge, route);
  return changes;
}

/** Puts addresses and routes back on the uplink (after its bridge is gone), and its state. */
export async function restoreUplink(uplink: string, changes: UplinkChanges): Promise<void> {
  if (!(await iproute.link(uplink))) return;
  await restoreOnUplink(uplink, changes);
  if (changes.broughtUp) await iproute.setUp(uplink, false);
}

async function restoreOnUplink(uplink: string, changes: UplinkChanges): Promise<void> {
  const present = new Set((await iproute.addresses(uplink)).map((a) => a.address));
  for (const a of changes.addresses) if (!present.has(a.address)) await iproute.addAddress(uplink, a);
  for (const route of changes.routes) await iproute.addRoute(uplink, route);
}
