import { randomBytes } from 'node:crypto';
import { errors } from './errors.js';

/** The kernel's limit on interface names (IFNAMSIZ - 1). */
export const MAX_IFNAME_BYTES = 15;

/**
 * Validates a Linux interface name: 1 to 15 bytes, no `/`, `:`, white space or control characters, not
 * `.` or `..` (the kernel's rules, plus `:`, which old tools read as an alias).
 */
export function validateIfname(what: string, name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw errors.invalid(`${what} is required`, { what });
  const bad = (why: string) => errors.invalid(`invalid ${what} '${name.slice(0, 40)}': ${why}`, { what, name });
  if (Buffer.byteLength(name, 'utf8') > MAX_IFNAME_BYTES) throw bad(`longer than ${MAX_IFNAME_BYTES} bytes`);
  if (/[\s/:]/u.test(name)) throw bad("contains '/', ':' or white space");
  // The kernel makes a name with `%d` into the first free number: the interface would not be this name.
  if (name.includes('%')) throw bad("contains '%'");
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw bad('contains control characters');
  if (name === '.' || name === '..') throw bad("is '.' or '..'");
  if (name.startsWith('-')) throw bad("starts with '-'");
  return name;
}

/** Validates a VLAN id (1..4094; 0 and 4095 are reserved by 802.1Q). */
export function validateVlanId(value: unknown): number {
  const id = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > 4094) {
    throw errors.invalid(`invalid VLAN id '${String(value)}': expected 1..4094`, { vlan: value });
  }
  return id;
}

/** Parses a VLAN list such as `10,20-30` into sorted unique ids. */
export function parseVlanList(spec: string | number[]): number[] {
  const ids = new Set<number>();
  const parts = Array.isArray(spec) ? spec.map(String) : spec.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw errors.invalid('the VLAN list is empty', { trunk: spec });
  for (const part of parts) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (!range) {
      ids.add(validateVlanId(part));
      continue;
    }
    const [from, to] = [validateVlanId(range[1]), validateVlanId(range[2])];
    if (from > to) throw errors.invalid(`invalid VLAN range '${part}': its start is after its end`, { trunk: spec });
    for (let id = from; id <= to; id++) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

/** Sorted VLAN ids as [from, to] runs. */
export function vlanRuns(ids: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const id of ids) {
    const last = out[out.length - 1];
    if (last && id === last[1] + 1) last[1] = id;
    else out.push([id, id]);
  }
  return out;
}

/** Writes a sorted VLAN list back in its short form (`10,20-30`). */
export function formatVlanList(ids: readonly number[]): string {
  return vlanRuns(ids).map(([from, to]) => (from === to ? String(from) : `${from}-${to}`)).join(',');
}

/** Validates an MTU (68, the IPv4 minimum, to 65535). */
export function validateMtu(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 68 || value > 65535) {
    throw errors.invalid(`invalid MTU '${String(value)}': expected 68..65535`, { mtu: value });
  }
  return value;
}

/** Normalizes a unicast MAC address to lower case `aa:bb:cc:dd:ee:ff`; multicast and all-zero ones are refused. */
export function validateMac(value: unknown): string {
  const mac = typeof value === 'string' ? value.trim().toLowerCase().replace(/-/g, ':') : '';
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac)) throw errors.invalid(`invalid MAC address '${String(value)}'`, { mac: value });
  if (parseInt(mac.slice(0, 2), 16) & 1) throw errors.invalid(`MAC address '${mac}' is a multicast address`, { mac });
  if (mac === '00:00:00:00:00:00') throw errors.invalid('MAC address 00:00:00:00:00:00 is not usable', { mac });
  if (mac.startsWith('fe:')) throw errors.invalid(`MAC address '${mac}': fe:... is kept for the host side of ports`, { mac });
  return mac;
}

/** A random MAC in 52:54:00 (locally administered, unicast; the prefix qemu and libvirt users know). */
export function randomMac(): string {
  return ['52', '54', '00', ...[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/**
 * The MAC of the host side of a tap or veth: the guest's MAC with the first byte fe, which a bridge never
 * picks as its own address (it takes the lowest of its ports'), so the bridge keeps its uplink's.
 */
export function hostSideMac(mac: string): string {
  return `fe${mac.slice(2)}`;
}

/** A random interface name `PREFIX` + 8 hex digits (kvmpool's generated port names). */
export function randomIfname(prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}
