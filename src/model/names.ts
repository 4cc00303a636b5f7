import { errors } from './errors.js';

/** Longest accepted name of a pool or volume, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 128;

/**
 * Validates a pool, volume, network, port or VM name. A name is one path component that is safe as a file name and on a
 * command line: no `/`, no control characters, not `.`/`..`, no leading `-` or `.`, at most 128 bytes.
 */
export function validateName(kind: 'pool' | 'volume' | 'network' | 'port' | 'vm', name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw errors.invalid(`${kind} name is required`, { kind });
  const bad = (why: string) => errors.invalid(`invalid ${kind} name '${printable(name)}': ${why}`, { kind, name });
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) throw bad(`longer than ${MAX_NAME_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw bad('contains control characters');
  if (name.includes('/')) throw bad("contains '/'");
  if (name.includes('..')) throw bad("contains '..'");
  if (name.startsWith('-')) throw bad("starts with '-'");
  if (name.startsWith('.')) throw bad("starts with '.'");
  if (name.includes('@')) throw bad("contains '@' (reserved for snapshots)");
  if (name !== name.trim()) throw bad('starts or ends with white space');
  return name;
}

declare const checked: unique symbol;

/** A volume reference `POOL/VOLUME` whose names were checked: made only by `volumeRef` and `parseVolumeRef`. */
export type VolumeRef = { readonly pool: string; readonly volume: string } & { readonly [checked]: true };

/** Checks a pool and a volume name and makes them a reference. */
export function volumeRef(pool: unknown, volume: unknown): VolumeRef {
  return { pool: validateName('pool', pool), volume: validateName('volume', volume) } as VolumeRef;
}

/** `POOL/VOLUME` as people write it. */
export const refText = (r: { pool: string; volume: string }): string => `${r.pool}/${r.volume}`;

/** A volume reference `POOL/VOLUME`, split and validated. */
export function parseVolumeRef(ref: string): VolumeRef {
  const slash = ref.indexOf('/');
  if (slash < 0) throw errors.invalid(`invalid volume '${printable(ref)}': expected POOL/VOLUME`, { ref });
  return volumeRef(ref.slice(0, slash), ref.slice(slash + 1));
}

/** A snapshot reference `POOL/VOLUME@SNAP` (`@SNAP` optional where `snapRequired` is false). */
export function parseSnapshotRef(ref: string, snapRequired = true): VolumeRef & { snapshot?: string } {
  const at = ref.lastIndexOf('@');
  if (at < 0) {
    if (snapRequired) throw errors.invalid(`invalid snapshot '${printable(ref)}': expected POOL/VOLUME@SNAPSHOT`, { ref });
    return parseVolumeRef(ref);
  }
  return { ...parseVolumeRef(ref.slice(0, at)), snapshot: validateName('volume', ref.slice(at + 1)) };
}

/** Replaces control characters so a bad name can be echoed in a one-line message. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}...` : clean;
}

/** A port reference `NETWORK/PORT`, split and validated. */
export function parsePortRef(ref: string): { network: string; port: string } {
  const slash = ref.indexOf('/');
  if (slash < 0) throw errors.invalid(`invalid port '${printable(ref)}': expected NETWORK/PORT`, { ref });
  return { network: validateName('network', ref.slice(0, slash)), port: validateName('port', ref.slice(slash + 1)) };
}
