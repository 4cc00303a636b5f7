import { run } from './exec.js';
import type { MovedAddress, MovedRoute } from '../model/network-types.js';

/** Host network interfaces through iproute2's JSON output (`ip -j`, `bridge -j`); argv only. */

/** One interface as `ip -j -d link show` reports it (the fields kvmpool reads). */
export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  master?: string;
  operstate: string;
  address?: string;
  ifalias?: string;
  /** Set when the other end of a veth (or the lower device) lives in another network namespace. */
  link_netnsid?: number;
  /** The lower device of a VLAN sub-interface (absent when it is in another namespace). */
  link?: string;
  linkinfo?: {
    info_kind?: string;
    info_data?: { id?: number; protocol?: string; type?: string; vlan_filtering?: number };
    info_slave_kind?: string;
  };
}

interface IpAddrInfo {
  family: string;
  local: string;
  prefixlen: number;
  broadcast?: string;
  scope: string;
  noprefixroute?: boolean;
}

const IP_TIMEOUT_MS = 15_000;

async function ip(args: string[]): Promise<string> {
  return (await run('ip', args, { timeoutMs: IP_TIMEOUT_MS })).stdout;
}

const parse = <T>(stdout: string): T => (stdout.trim() === '' ? ([] as T) : (JSON.parse(stdout) as T));

/** All interfaces of the host's network namespace, with details. */
export async function links(): Promise<IpLink[]> {
  return parse<IpLink[]>(await ip(['-j', '-d', 'link', 'show']));
}

/** One interface, or undefined when there is none of that name. */
export async function link(name: string): Promise<IpLink | undefined> {
  return (await links()).find((l) => l.ifname === name);
}

export async function addBridge(name: string, options: { mtu?: number; mac?: string; vlanFiltering?: boolean; alias: string }): Promise<void> {
  const args = ['link', 'add', 'name', name];
  if (options.mtu) args.push('mtu', String(options.mtu));
  if (options.mac) args.push('address', options.mac);
  args.push('type', 'bridge');
  // No STP and no forwarding delay: a VM's port forwards as soon as it is plugged in.
  args.push('stp_state', '0', 'forward_delay', '0');
  if (options.vlanFiltering) args.push('vlan_filtering', '1');
  await ip(args);
  await markOrRemove(name, options.alias);
  // A bridge follows its smallest port's MTU unless its MTU was changed by hand; the kernel ignores a
  // change to the MTU it already has, so step off it and back: from then on the MTU stays.
  if (options.mtu) {
    await ip(['link', 'set', 'dev', name, 'mtu', String(options.mtu === 68 ? 69 : options.mtu - 1)]);
    await ip(['link', 'set', 'dev', name, 'mtu', String(options.mtu)]);
  }
}

/** Creates the 802.1Q sub-interface `name` of `uplink` for VLAN `id`. */
export async function addVlan(uplink: string, name: string, id: number, alias: string): Promise<void> {
  await ip(['link', 'add', 'link', uplink, 'name', name, 'type', 'vlan', 'id', String(id)]);
  await markOrRemove(name, alias);
}

/** Creates a persistent tap (root-owned; qemu attaches to it by name). */
export async function addTap(name: string, options: { mtu?: number; mac: string; alias: string }): Promise<void> {
  await ip(['tuntap', 'add', 'dev', name, 'mode', 'tap']);
  await markOrRemove(name, options.alias);
  await ip(['link', 'set', 'dev', name, 'address', options.mac, ...(options.mtu ? ['mtu', String(options.mtu)] : [])]);
}

/** Creates a veth pair: `name` (bridge side) and `peer`, each with its MAC. */
export async function addVeth(name: string, peer: string, options: { mtu?: number; mac: string; peerMac: string; alias: string }): Promise<void> {
  const mtu = options.mtu ? ['mtu', String(options.mtu)] : [];
  await ip(['link', 'add', 'name', name, 'address', options.mac, ...mtu, 'type', 'veth', 'peer', 'name', peer, 'address', options.peerMac, ...mtu]);
  await markOrRemove(name, options.alias);
  await setAlias(peer, options.alias);
}

/**
 * Marks a just-created interface as kvmpool's; if that fails it is deleted at once, since an interface
 * without the mark would be foreign to kvmpool forever.
 */
async function markOrRemove(name: string, alias: string): Promise<void> {
  try {
    await setAlias(name, alias);
  } catch (e) {
    await deleteLink(name).catch(() => {});
    throw e;
  }
}

/** Sets an interface's alias (`ip link set alias`): kvmpool marks the interfaces it creates with it. */
export async function setAlias(name: string, alias: string): Promise<void> {
  await ip(['link', 'set', 'dev', name, 'alias', alias]);
}

export async function setUp(name: string, up: boolean): Promise<void> {
  await ip(['link', 'set', 'dev', name, up ? 'up' : 'down']);
}

/** Plugs `name` into bridge `master`, or unplugs it (master null). */
export async function setMaster(name: string, master: string | null): Promise<void> {
  await ip(['link', 'set', 'dev', name, ...(master ? ['master', master] : ['nomaster'])]);
}

export async function deleteLink(name: string): Promise<void> {
  await ip(['link', 'del', 'dev', name]);
}

/** The global (and site) addresses of an interface, primaries before secondaries: the ones that identify the host on the network. */
export async function addresses(dev: string): Promise<MovedAddress[]> {
  const [info] = parse<{ addr_info?: IpAddrInfo[] }[]>(await ip(['-j', 'addr', 'show', 'dev', dev]));
  return (info?.addr_info ?? [])
    .filter((a) => (a.family === 'inet' || a.family === 'inet6') && a.scope !== 'link' && a.scope !== 'host')
    .map((a) => ({
      family: a.family as 'inet' | 'inet6',
      address: `${a.local}/${a.prefixlen}`,
      ...(a.broadcast ? { broadcast: a.broadcast } : {}),
      ...(a.noprefixroute ? { noprefixroute: true } : {}),
    }));
}

/** Adds an address; an IPv6 one without duplicate address detection (it was in use on this link already). */
export async function addAddress(dev: string, a: MovedAddress): Promise<void> {
  const v6 = a.family === 'inet6';
  await ip([v6 ? '-6' : '-4', 'addr', 'add', a.address, ...(a.broadcast ? ['broadcast', a.broadcast] : []), 'dev', dev, ...(v6 ? ['nodad'] : []), ...(a.noprefixroute ? ['noprefixroute'] : [])]);
}

/** Deletes an address; one that is gone already (a secondary leaves with its primary) is not an error. */
export async function deleteAddress(dev: string, a: MovedAddress): Promise<void> {
  await ip([a.family === 'inet6' ? '-6' : '-4', 'addr', 'del', a.address, 'dev', dev]).catch(async (e) => {
    if ((await addresses(dev)).some((x) => x.address === a.address)) throw e;
  });
}

/**
 * Routes of the main table through `dev` that an address move would lose: not the ones the kernel
 * makes for each address (`proto kernel`), which come back with the address, and no multicast or
 * link-local IPv6 ones. Routes without a gateway come first: a gateway may be reachable only through one.
 */
export async function routes(dev: string): Promise<MovedRoute[]> {
  const out: MovedRoute[] = [];
  for (const family of ['inet', 'inet6'] as const) {
    const rows = parse<{ dst: string; gateway?: string; metric?: number; protocol?: string; scope?: string; prefsrc?: string; type?: string; flags?: string[] }[]>(
      await ip([family === 'inet6' ? '-6' : '-4', '-j', 'route', 'show', 'dev', dev]),
    );
    for (const r of rows) {
      if (r.protocol === 'kernel' || (r.type && r.type !== 'unicast') || r.dst.startsWith('fe80:') || r.dst.startsWith('ff00:')) continue;
      out.push({
        family,
        dst: r.dst,
        ...(r.gateway ? { gateway: r.gateway } : {}),
        ...(r.metric !== undefined ? { metric: r.metric } : {}),
        ...(r.protocol ? { protocol: r.protocol } : {}),
        ...(r.scope && r.scope !== 'global' && r.scope !== 'universe' ? { scope: r.scope } : {}),
        ...(r.prefsrc ? { prefsrc: r.prefsrc } : {}),
        ...(r.flags?.includes('onlink') ? { onlink: true } : {}),
      });
    }
  }
  return out.sort((a, b) => Number(a.gateway !== undefined) - Number(b.gateway !== undefined));
}

function routeArgs(r: MovedRoute, dev: string): string[] {
  const args = [r.family === 'inet6' ? '-6' : '-4', 'route', 'replace', r.dst];
  if (r.gateway) args.push('via', r.gateway);
  if (r.metric !== undefined) args.push('metric', String(r.metric));
  if (r.protocol) args.push('proto', r.protocol);
  if (r.scope) args.push('scope', r.scope);
  if (r.prefsrc) args.push('src', r.prefsrc);
  args.push('dev', dev);
  if (r.onlink) args.push('onlink');
  return args;
}

/** Adds a route through `dev` (or replaces the same one). */
export async function addRoute(dev: string, r: MovedRoute): Promise<void> {
  await ip(routeArgs(r, dev));
}

/** One VLAN of a bridge port as `bridge -j vlan show` reports it. */
export interface BridgeVlan {
  vlan: number;
  vlanEnd?: number;
  flags?: string[];
}

/** VLANs of a port of a VLAN-filtering bridge (or of the bridge itself). */
export async function bridgeVlans(dev: string): Promise<BridgeVlan[]> {
  const rows = parse<{ ifname: string; vlans: BridgeVlan[] }[]>((await run('bridge', ['-j', 'vlan', 'show', 'dev', dev], { timeoutMs: IP_TIMEOUT_MS })).stdout);
  return rows.find((r) => r.ifname === dev)?.vlans ?? [];
}

/** Adds VLAN `vid` (or the range `vid`-`end`) to a bridge port; `native` carries it untagged and as the PVID. */
export async function addBridgeVlan(dev: string, vid: number, options: { end?: number; native?: boolean } = {}): Promise<void> {
  const vids = options.end && options.end !== vid ? `${vid}-${options.end}` : String(vid);
  await run('bridge', ['vlan', 'add', 'dev', dev, 'vid', vids, ...(options.native ? ['pvid', 'untagged'] : [])], { timeoutMs: IP_TIMEOUT_MS });
}

export async function deleteBridgeVlan(dev: string, vid: number, end?: number): Promise<void> {
  const vids = end && end !== vid ? `${vid}-${end}` : String(vid);
  await run('bridge', ['vlan', 'del', 'dev', dev, 'vid', vids], { timeoutMs: IP_TIMEOUT_MS });
}
