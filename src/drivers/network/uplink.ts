import * as iproute from '../../host/iproute.js';
import type { IpLink } from '../../host/iproute.js';
import { KvmpoolError, errors } from '../../model/errors.js';
import type { MovedAddress, MovedRoute, UplinkChanges } from '../../model/network-types.js';
import type { Reverter } from '../../model/reverter.js';

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
  if (uplink === 'lo') throw errors.invalid('the loopback interface cannot be an uplink', { uplink });
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
 * Plugs `uplink` into `bridge` (if it is not already) and moves the addresses and routes it carries onto
 * the bridge, so the host keeps its connectivity. Every step registers its undo in `r`. Safe to run again
 * after a start that was cut short: what is on the bridge already stays there.
 */
export async function moveUplinkToBridge(uplink: IpLink, bridge: string, r: Reverter): Promise<UplinkChanges> {
  const name = uplink.ifname;
  const addresses = await iproute.addresses(name);
  const routes = await routesThrough(name);
  const broughtUp = !uplink.flags.includes('UP');
  if (uplink.master !== bridge) {
    await iproute.setMaster(name, bridge);
    r.add(`unplug ${name} from ${bridge}`, () => iproute.setMaster(name, null));
  }
  if (broughtUp) {
    await iproute.setUp(name, true);
    r.add(`set ${name} down`, () => iproute.setUp(name, false));
  }
  const changes: UplinkChanges = { addresses, routes, broughtUp };
  // Removing an address also removes the routes through it: one undo puts both back, in order.
  r.add(`put the addresses and routes back on ${name}`, () => failIfAny(putOnUplink(name, changes)));
  // Secondaries first: removing a primary may take its secondaries with it.
  for (const a of [...addresses].reverse()) await deleteAddressIfThere(name, a);
  for (const a of addresses) await iproute.addAddress(bridge, a);
  for (const route of routes) await iproute.addRoute(bridge, route);
  return changes;
}

/**
 * Gives the uplink back what its bridge carries now (what start moved, plus what came since: a renewed
 * lease, an address added by hand); `changes` stand in when the bridge is gone. Unplugs the uplink first.
 * Tries every address and route; returns what could not be put back.
 */
export async function returnUplink(uplink: string, bridge: IpLink | undefined, changes: UplinkChanges | null): Promise<string[]> {
  const link = await iproute.link(uplink);
  if (!link) return [];
  const carried: UplinkChanges = bridge
    ? { addresses: await iproute.addresses(bridge.ifname), routes: await routesThrough(bridge.ifname), broughtUp: changes?.broughtUp ?? false }
    : (changes ?? { addresses: [], routes: [], broughtUp: false });
  if (bridge && link.master === bridge.ifname) await iproute.setMaster(uplink, null);
  const failed = await putOnUplink(uplink, carried);
  if (carried.broughtUp && failed.length === 0) await iproute.setUp(uplink, false);
  return failed;
}

/** Adds addresses (those not there yet), then routes; goes on past failures and lists them. */
export async function putOnUplink(uplink: string, changes: Pick<UplinkChanges, 'addresses' | 'routes'>): Promise<string[]> {
  const failed: string[] = [];
  const present = new Set((await iproute.addresses(uplink)).map((a) => a.address));
  for (const a of changes.addresses) {
    if (!present.has(a.address)) await iproute.addAddress(uplink, a).catch((e: Error) => failed.push(`address ${a.address}: ${e.message}`));
  }
  for (const route of changes.routes) await iproute.addRoute(uplink, route).catch((e: Error) => failed.push(`route ${route.dst}: ${e.message}`));
  return failed;
}

/** Routes through `dev` that an address move would lose, both families; routes without a gateway first (a gateway may be reachable only through one). */
async function routesThrough(dev: string): Promise<MovedRoute[]> {
  const all = [...(await iproute.routes(dev, 'inet')), ...(await iproute.routes(dev, 'inet6'))];
  return all.sort((a, b) => Number(a.gateway !== undefined) - Number(b.gateway !== undefined));
}

/** Deletes an address; one that is gone already (a secondary leaves with its primary) is not an error. */
async function deleteAddressIfThere(dev: string, a: MovedAddress): Promise<void> {
  await iproute.deleteAddress(dev, a).catch(async (e: unknown) => {
    if ((await iproute.addresses(dev)).some((x) => x.address === a.address)) throw e;
  });
}

async function failIfAny(failures: Promise<string[]>): Promise<void> {
  const failed = await failures;
  if (failed.length > 0) throw new Error(failed.join('; '));
}
