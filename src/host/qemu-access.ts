import type { VolumeAccess } from '../model/access.js';

/**
 * A volume's access in qemu's terms: the protocol node of a -blockdev (file, host_device, rbd, iscsi),
 * the secret objects it names (`-object secret,id=...,file=...`: the secret stays in its 0600 file,
 * never on a command line), and the same as dotted --image-opts keys for qemu-img.
 */

/** A qemu secret object: its id and the file (mode 0600) qemu reads it from; `base64` when the file holds base64 text to decode. */
export interface QemuSecret {
  id: string;
  file: string;
  format?: 'base64';
}

/** The secrets an access needs, with ids made from `prefix` (unique per disk). */
export function accessSecrets(access: VolumeAccess, prefix: string): QemuSecret[] {
  // qemu hands librados the secret's bytes base64-encoded: a key file holds the base64 text, so it is decoded first.
  if (access.kind === 'rbd') return [{ id: `${prefix}-key`, file: access.key.file, format: 'base64' }];
  if (access.kind === 'iscsi' && access.password) return [{ id: `${prefix}-password`, file: access.password.file }];
  return [];
}

/** `HOST:PORT` (or `[V6]:PORT`) split for qemu's InetSocketAddress; `port` defaults. */
function hostPort(address: string, port: number): { host: string; port: string } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(address) ?? /^([^:]+)(?::(\d+))?$/.exec(address);
  return { host: m?.[1] ?? address, port: m?.[2] ?? String(port) };
}

/**
 * The protocol node of an access (without node-name and cache options): what `driver` reads the bytes.
 * `prefix` names its secrets as `accessSecrets` does.
 */
export function protocolNode(access: VolumeAccess, prefix: string): Record<string, unknown> {
  switch (access.kind) {
    case 'file':
      return { driver: 'file', filename: access.path };
    case 'block':
      return { driver: 'host_device', filename: access.path };
    case 'rbd':
      return {
        driver: 'rbd',
        pool: access.pool,
        ...(access.namespace ? { namespace: access.namespace } : {}),
        image: access.image,
        server: access.monitors.map((m) => hostPort(m, 3300)),
        user: access.user,
        'auth-client-required': ['cephx'],
        'key-secret': `${prefix}-key`,
        // The client's own settings (a bound on connecting), never a ceph.conf of the host or the working directory.
        ...(access.conf ? { conf: access.conf } : {}),
      };
    case 'iscsi': {
      return {
        driver: 'iscsi',
        transport: 'tcp',
        portal: access.portal,
        target: access.target,
        lun: access.lun,
        ...(access.initiator ? { 'initiator-name': access.initiator } : {}),
        ...(access.user ? { user: access.user } : {}),
        ...(access.password ? { 'password-secret': `${prefix}-password` } : {}),
      };
    }
  }
}

/** A nested option object as qemu's dotted keys (`file.server.0.host=...`), commas doubled. */
export function dottedOptions(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([k, v]) => {
    const key = prefix ? `${prefix}.${k}` : k;
    if (Array.isArray(v)) return v.flatMap((item, i) => (typeof item === 'object' && item !== null ? dottedOptions(item as Record<string, unknown>, `${key}.${i}`) : [`${key}.${i}=${escape(String(item))}`]));
    if (typeof v === 'object' && v !== null) return dottedOptions(v as Record<string, unknown>, key);
    return [`${key}=${escape(String(v))}`];
  });
}

/** The `-object` / `--object` value of a secret. */
export function secretObjectArg(s: QemuSecret): string {
  return `secret,id=${s.id},file=${escape(s.file)}${s.format ? `,format=${s.format}` : ''}`;
}

/** A qemu option value with its commas doubled (qemu's escape). */
export const escape = (value: string): string => value.replace(/,/g, ',,');
