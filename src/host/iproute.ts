import { run } from './exec.js';
import { outputOf, type JsonObject, type OutputReader } from './tool-output.js';
import type { MovedAddress, MovedRoute } from '../model/network-types.js';

/**
 * Host network interfaces through iproute2 (`ip`, `bridge`) and its JSON output (`-j`): pure argv
 * builders, checked parsers, and functions that each run one command. The network drivers compose
 * them (create, mark with the alias, set up), with an undo for every step.
 */

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
    /** A VLAN's `id` and `protocol`; a bridge's `vlan_filtering` (1 or 0). */
    info_data?: { id?: number; protocol?: string; vlan_filtering?: number };
    info_slave_kind?: string;
  };
}

/** One VLAN of a bridge port as `bridge -j vlan show` reports it. */
export interface BridgeVlan {
  vlan: number;
  vlanEnd?: number;
  flags?: string[];
}

const IP_TIMEOUT_MS = 15_000;
const inet = (family: 'inet' | 'inet6') => (family === 'inet6' ? '-6' : '-4');
const vids = (vid: number, end?: number) => (end && end !== vid ? `${vid}-${end}` : String(vid));

// ---- argv builders (ip, then bridge) ------------------------------------------------------------

/** argv for every interface of the network namespace, with details. */
export function linksArgs(): string[] {
  return ['-j', '-d', 'link', 'show'];
}

/** argv for a bridge without STP or forwarding delay: a VM's port forwards as soon as it is plugged in. */
export function addBridgeArgs(name: string, options: { mtu?: number; mac?: string; vlanFiltering?: boolean }): string[] {
  return [
    'link', 'add', 'name', name,
    ...(options.mtu ? ['mtu', String(options.mtu)] : []),
    ...(options.mac ? ['address', options.mac] : []),
    'type', 'bridge', 'stp_state', '0', 'forward_delay', '0',
    ...(options.vlanFiltering ? ['vlan_filtering', '1'] : []),
  ];
}

/** argv for the 802.1Q sub-interface `name` of `uplink` for VLAN `id`. */
export function addVlanArgs(uplink: string, name: string, id: number): string[] {
  return ['link', 'add', 'link', uplink, 'name', name, 'type', 'vlan', 'id', String(id)];
}

/** argv for a persistent tap (root-owned; qemu attaches to it by name). */
export function addTapArgs(name: string): string[] {
  return ['tuntap', 'add', 'dev', name, 'mode', 'tap'];
}

/** argv for a veth pair: `name` and `peer`, each with its MAC, both with the MTU. */
export function addVethArgs(name: string, peer: string, options: { mtu?: number; mac: string; peerMac: string }): string[] {
  const mtu = options.mtu ? ['mtu', String(options.mtu)] : [];
  return ['link', 'add', 'name', name, 'address', options.mac, ...mtu, 'type', 'veth', 'peer', 'name', peer, 'address', options.peerMac, ...mtu];
}

/** argv that sets an interface's alias (kvmpool marks the interfaces it creates with it). */
export function setAliasArgs(name: string, alias: string): string[] {
  return ['link', 'set', 'dev', name, 'alias', alias];
}

/** argv that sets an interface up or down. */
export function setUpArgs(name: string, up: boolean): string[] {
  return ['link', 'set', 'dev', name, up ? 'up' : 'down'];
}

/** argv that plugs `name` into bridge `master`, or unplugs it (master null). */
export function setMasterArgs(name: string, master: string | null): string[] {
  return ['link', 'set', 'dev', name, ...(master ? ['master', master] : ['nomaster'])];
}

/** argv that sets an interface's MTU. */
export function setMtuArgs(name: string, mtu: number): string[] {
  return ['link', 'set', 'dev', name, 'mtu', String(mtu)];
}

/** argv that sets an interface's MAC (and MTU, when given). */
export function setMacArgs(name: string, mac: string, mtu?: number): string[] {
  return ['link', 'set', 'dev', name, 'address', mac, ...(mtu ? ['mtu', String(mtu)] : [])];
}

/** argv that deletes an interface (both ends of a veth). */
export function deleteLinkArgs(name: string): string[] {
  return ['link', 'del', 'dev', name];
}

/** argv for the addresses of an interface. */
export function addressesArgs(dev: string): string[] {
  return ['-j', 'addr', 'show', 'dev', dev];
}

/** argv that adds an address; an IPv6 one without duplicate address detection (it was in use on this link already). */
export function addAddressArgs(dev: string, a: MovedAddress): string[] {
  const v6 = a.family === 'inet6';
  return [inet(a.family), 'addr', 'add', a.address, ...(a.broadcast ? ['broadcast', a.broadcast] : []), 'dev', dev, ...(v6 ? ['nodad'] : []), ...(a.noprefixroute ? ['noprefixroute'] : [])];
}

/** argv that deletes an address. */
export function deleteAddressArgs(dev: string, a: MovedAddress): string[] {
  return [inet(a.family), 'addr', 'del', a.address, 'dev', dev];
}

/** argv for the main table's routes of one family through `dev`. */
export function routesArgs(dev: string, family: 'inet' | 'inet6'): string[] {
  return [inet(family), '-j', 'route', 'show', 'dev', dev];
}

/** argv that adds a route through `dev` (or replaces the same one). */
export function addRouteArgs(dev: string, r: MovedRoute): string[] {
  return [
    inet(r.family), 'route', 'replace', r.dst,
    ...(r.gateway ? ['via', r.gateway] : []),
    ...(r.metric !== undefined ? ['metric', String(r.metric)] : []),
    ...(r.protocol ? ['proto', r.protocol] : []),
    ...(r.scope ? ['scope', r.scope] : []),
    ...(r.prefsrc ? ['src', r.prefsrc] : []),
    'dev', dev,
    ...(r.onlink ? ['onlink'] : []),
  ];
}

/** argv for `bridge` that lists the VLANs of a bridge port (or of the bridge itself). */
export function bridgeVlansArgs(dev: string): string[] {
  return ['-j', 'vlan', 'show', 'dev', dev];
}

/** argv for `bridge` that adds VLAN `vid` (or the range `vid`-`end`) to a port; `native` carries it untagged and as the PVID. */
export function addBridgeVlanArgs(dev: string, vid: number, options: { end?: number; native?: boolean } = {}): string[] {
  return ['vlan', 'add', 'dev', dev, 'vid', vids(vid, options.end), ...(options.native ? ['pvid', 'untagged'] : [])];
}

/** argv for `bridge` that removes VLAN `vid` (or the range `vid`-`end`) from a port. */
export function deleteBridgeVlanArgs(dev: string, vid: number, end?: number): string[] {
  return ['vlan', 'del', 'dev', dev, 'vid', vids(vid, end)];
}

// ---- parsers ------------------------------------------------------------------------------------

/** The top-level list of `ip -j` / `bridge -j` output; nothing printed is an empty list. */
function rows(tool: string, json: string): { out: OutputReader; list: JsonObject[] } {
  const out = outputOf(tool, json);
  if (json.trim() === '') return { out, list: [] };
  return { out, list: out.array(out.json(), 'the listing').map((x) => out.object(x, 'an entry')) };
}

/**
 * Parses `ip -j -d link show` (iproute2 6.1). Sample: `[{"ifindex": 4, "link": "ktv1", "ifname": "ktv0",
 * "flags": ["BROADCAST","MULTICAST","UP","LOWER_UP"], "mtu": 1500, "master": "ktbr0", "operstate": "UP",
 * "address": "9a:91:…", "link_netnsid": 0, "linkinfo": {"info_kind": "veth", "info_slave_kind": "bridge"},
 * "ifalias": "kvmpool:lan"}, ...]`.
 */
export function parseLinks(json: string): IpLink[] {
  const { out, list } = rows('ip', json);
  return list.map((o) => {
    const l: IpLink = { ifindex: out.number(o, 'ifindex'), ifname: out.string(o, 'ifname'), flags: out.optStrings(o, 'flags') ?? failNo(out, 'flags'), mtu: out.number(o, 'mtu'), operstate: out.string(o, 'operstate') };
    for (const key of ['master', 'address', 'ifalias', 'link'] as const) {
      const v = out.optString(o, key);
      if (v !== undefined) l[key] = v;
    }
    const netnsid = out.optNumber(o, 'link_netnsid');
    if (netnsid !== undefined) l.link_netnsid = netnsid;
    if (o['linkinfo'] !== undefined) l.linkinfo = linkInfo(out, out.object(o['linkinfo'], 'linkinfo'));
    return l;
  });
}

function failNo(out: OutputReader, key: string): never {
  throw out.fail(`no ${key}`);
}

/** The parts of `linkinfo` kvmpool reads: a VLAN's id and protocol, a bridge's vlan_filtering. */
function linkInfo(out: OutputReader, o: JsonObject): NonNullable<IpLink['linkinfo']> {
  const info: NonNullable<IpLink['linkinfo']> = {};
  const kind = out.optString(o, 'info_kind');
  const slaveKind = out.optString(o, 'info_slave_kind');
  if (kind !== undefined) info.info_kind = kind;
  if (slaveKind !== undefined) info.info_slave_kind = slaveKind;
  if (o['info_data'] === undefined || (kind !== 'vlan' && kind !== 'bridge')) return info;
  const data = out.object(o['info_data'], 'info_data');
  if (kind === 'vlan') info.info_data = { id: out.number(data, 'id'), ...(data['protocol'] !== undefined ? { protocol: out.string(data, 'protocol') } : {}) };
  else {
    const filtering = out.optNumber(data, 'vlan_filtering');
    info.info_data = filtering !== undefined ? { vlan_filtering: filtering } : {};
  }
  return info;
}

/**
 * Parses `ip -j addr show dev X`: the global (and site) addresses, primaries before secondaries (as
 * listed): the ones that identify the host on the network. Sample: `[{"ifname": "br0", "addr_info":
 * [{"family": "inet", "local": "10.77.0.2", "prefixlen": 24, "broadcast": "10.77.0.255", "scope":
 * "global", ...}, {"family": "inet6", "local": "fd00:78::2", "prefixlen": 64, "scope": "global",
 * "noprefixroute": true, ...}]}]`. iproute2 prints `{}` for an address a filter left out: skipped.
 */
export function parseAddresses(json: string): MovedAddress[] {
  const { out, list } = rows('ip', json);
  const info = list[0];
  if (info === undefined || info['addr_info'] === undefined) return [];
  const found: MovedAddress[] = [];
  for (const x of out.array(info['addr_info'], 'addr_info')) {
    const a = out.object(x, 'an address');
    if (Object.keys(a).length === 0) continue;
    const family = out.string(a, 'family');
    if (family !== 'inet' && family !== 'inet6') continue;
    const [local, prefixlen, scope, broadcast] = [out.string(a, 'local'), out.number(a, 'prefixlen'), out.string(a, 'scope'), out.optString(a, 'broadcast')];
    if (scope === 'link' || scope === 'host') continue;
    found.push({ family, address: `${local}/${prefixlen}`, ...(broadcast ? { broadcast } : {}), ...(a['noprefixroute'] === true ? { noprefixroute: true } : {}) });
  }
  return found;
}

/**
 * Parses `ip -j route show dev X` of one family: the routes an address move would lose. Not the ones
 * the kernel makes for each address (`proto kernel`), which come back with the address, and no
 * multicast or link-local IPv6 ones. Sample: `[{"dst": "default", "gateway": "10.77.0.1", "metric": 100,
 * "flags": ["linkdown"]}, {"dst": "10.77.0.0/24", "protocol": "kernel", "scope": "link", "prefsrc":
 * "10.77.0.2", "flags": []}]`.
 */
export function parseRoutes(json: string, family: 'inet' | 'inet6'): MovedRoute[] {
  const { out, list } = rows('ip', json);
  const found: MovedRoute[] = [];
  for (const o of list) {
    const dst = out.string(o, 'dst');
    const [gateway, metric, protocol, scope, prefsrc, type, flags] = [
      out.optString(o, 'gateway'), out.optNumber(o, 'metric'), out.optString(o, 'protocol'), out.optString(o, 'scope'),
      out.optString(o, 'prefsrc'), out.optString(o, 'type'), out.optStrings(o, 'flags'),
    ];
    if (protocol === 'kernel' || (type && type !== 'unicast') || dst.startsWith('fe80:') || dst.startsWith('ff00:')) continue;
    found.push({
      family,
      dst,
      ...(gateway ? { gateway } : {}),
      ...(metric !== undefined ? { metric } : {}),
      ...(protocol ? { protocol } : {}),
      ...(scope && scope !== 'global' && scope !== 'universe' ? { scope } : {}),
      ...(prefsrc ? { prefsrc } : {}),
      ...(flags?.includes('onlink') ? { onlink: true } : {}),
    });
  }
  return found;
}

/**
 * Parses `bridge -j vlan show` for port `dev`. Sample (iproute2 6.1 lists each VLAN of a range on its
 * own; `vlanEnd` comes with `-c`): `[{"ifname": "ktv0", "vlans": [{"vlan": 10, "flags": ["PVID",
 * "Egress Untagged"]}, {"vlan": 20}]}]`.
 */
export function parseBridgeVlans(json: string, dev: string): BridgeVlan[] {
  const { out, list } = rows('bridge', json);
  const vlans = list.map((o) => ({ ifname: out.string(o, 'ifname'), vlans: o['vlans'] === undefined ? [] : out.array(o['vlans'], 'vlans') }));
  return (vlans.find((r) => r.ifname === dev)?.vlans ?? []).map((x) => {
    const v = out.object(x, 'a VLAN');
    const [vlanEnd, flags] = [out.optNumber(v, 'vlanEnd'), out.optStrings(v, 'flags')];
    return { vlan: out.number(v, 'vlan'), ...(vlanEnd !== undefined ? { vlanEnd } : {}), ...(flags ? { flags } : {}) };
  });
}

// ---- one command each ---------------------------------------------------------------------------

async function ip(args: string[]): Promise<string> {
  return (await run('ip', args, { timeoutMs: IP_TIMEOUT_MS })).stdout;
}

async function bridge(args: string[]): Promise<string> {
  return (await run('bridge', args, { timeoutMs: IP_TIMEOUT_MS })).stdout;
}

/** All interfaces of the host's network namespace, with details. */
export async function links(): Promise<IpLink[]> {
  return parseLinks(await ip(linksArgs()));
}

/** One interface, or undefined when there is none of that name. */
export async function link(name: string): Promise<IpLink | undefined> {
  return (await links()).find((l) => l.ifname === name);
}

/** Creates a bridge (see `addBridgeArgs`); it carries no alias yet. */
export async function addBridge(name: string, options: { mtu?: number; mac?: string; vlanFiltering?: boolean }): Promise<void> {
  await ip(addBridgeArgs(name, options));
}

/** Creates the 802.1Q sub-interface `name` of `uplink` for VLAN `id`; it carries no alias yet. */
export async function addVlan(uplink: string, name: string, id: number): Promise<void> {
  await ip(addVlanArgs(uplink, name, id));
}

/** Creates a persistent tap; it carries no alias yet. */
export async function addTap(name: string): Promise<void> {
  await ip(addTapArgs(name));
}

/** Creates a veth pair; neither end carries an alias yet. */
export async function addVeth(name: string, peer: string, options: { mtu?: number; mac: string; peerMac: string }): Promise<void> {
  await ip(addVethArgs(name, peer, options));
}

/** Sets an interface's alias. */
export async function setAlias(name: string, alias: string): Promise<void> {
  await ip(setAliasArgs(name, alias));
}

/** Sets an interface up or down. */
export async function setUp(name: string, up: boolean): Promise<void> {
  await ip(setUpArgs(name, up));
}

/** Plugs `name` into bridge `master`, or unplugs it (master null). */
export async function setMaster(name: string, master: string | null): Promise<void> {
  await ip(setMasterArgs(name, master));
}

/** Sets an interface's MTU. */
export async function setMtu(name: string, mtu: number): Promise<void> {
  await ip(setMtuArgs(name, mtu));
}

/** Sets an interface's MAC (and MTU, when given). */
export async function setMac(name: string, mac: string, mtu?: number): Promise<void> {
  await ip(setMacArgs(name, mac, mtu));
}

/** Deletes an interface. */
export async function deleteLink(name: string): Promise<void> {
  await ip(deleteLinkArgs(name));
}

/** The global (and site) addresses of an interface (see `parseAddresses`). */
export async function addresses(dev: string): Promise<MovedAddress[]> {
  return parseAddresses(await ip(addressesArgs(dev)));
}

/** Adds an address. */
export async function addAddress(dev: string, a: MovedAddress): Promise<void> {
  await ip(addAddressArgs(dev, a));
}

/** Deletes an address (fails when it is not there). */
export async function deleteAddress(dev: string, a: MovedAddress): Promise<void> {
  await ip(deleteAddressArgs(dev, a));
}

/** Routes of one family through `dev` that an address move would lose (see `parseRoutes`). */
export async function routes(dev: string, family: 'inet' | 'inet6'): Promise<MovedRoute[]> {
  return parseRoutes(await ip(routesArgs(dev, family)), family);
}

/** Adds a route through `dev` (or replaces the same one). */
export async function addRoute(dev: string, r: MovedRoute): Promise<void> {
  await ip(addRouteArgs(dev, r));
}

/** VLANs of a port of a VLAN-filtering bridge (or of the bridge itself). */
export async function bridgeVlans(dev: string): Promise<BridgeVlan[]> {
  return parseBridgeVlans(await bridge(bridgeVlansArgs(dev)), dev);
}

/** Adds VLAN `vid` (or the range `vid`-`end`) to a bridge port; `native` carries it untagged and as the PVID. */
export async function addBridgeVlan(dev: string, vid: number, options: { end?: number; native?: boolean } = {}): Promise<void> {
  await bridge(addBridgeVlanArgs(dev, vid, options));
}

/** Removes VLAN `vid` (or the range `vid`-`end`) from a bridge port. */
export async function deleteBridgeVlan(dev: string, vid: number, end?: number): Promise<void> {
  await bridge(deleteBridgeVlanArgs(dev, vid, end));
}
