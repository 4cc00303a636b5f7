import path from 'node:path';
import { Type, type Static } from 'typebox';
import { errors } from '../../../model/errors.js';
import type { NetShare } from '../../../host/netfs.js';

export const NETFS_PROTOCOLS = ['nfs', 'cifs'] as const;
export const NFS_VERSIONS = ['3', '4', '4.0', '4.1', '4.2'] as const;
export const SMB_VERSIONS = ['1.0', '2.0', '2.1', '3', '3.0', '3.02', '3.1.1'] as const;

/** A netfs pool's settings: the server, what it shares, and how to mount it. */
export const NetfsSettings = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 253, description: 'the server: a host name or an IP address' }),
    protocol: Type.Optional(Type.Enum(NETFS_PROTOCOLS, { description: 'nfs (default) or cifs' })),
    export: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'the NFS export: an absolute path on the server' })),
    share: Type.Optional(Type.String({ minLength: 1, maxLength: 80, description: 'the CIFS share name' })),
    nfsVersion: Type.Optional(Type.Enum(NFS_VERSIONS, { description: 'the NFS version (default: the newest both sides speak)' })),
    smbVersion: Type.Optional(Type.Enum(SMB_VERSIONS, { description: 'the SMB dialect of a CIFS mount (default: negotiated)' })),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'the CIFS user (none: a guest mount)' })),
    domain: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'the CIFS user\'s domain or workgroup' })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'the CIFS user\'s password' })),
    mountOptions: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 32, description: 'more mount options (nodev, nosuid and noexec always apply)' })),
  },
  { additionalProperties: false },
);
export type NetfsSource = Static<typeof NetfsSettings>;

/** Volumes of a netfs pool have no options of their own. */
export const NetfsVolumeOptions = Type.Object({}, { additionalProperties: false });

const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;
const CIFS_NAME = /^[A-Za-z0-9._@$][A-Za-z0-9._@$-]*$/;
const OPTION = /^[a-z0-9_]+(=[A-Za-z0-9._:/-]+)?$/;
/** Options the pool's own fields set, and those that would undo what every network mount must be. */
const RESERVED_OPTIONS = [
  ...['dev', 'suid', 'exec', 'remount', 'bind', 'rbind', 'move'],
  ...['vers', 'nfsvers', 'user', 'username', 'password', 'password2', 'pass', 'credentials', 'cred', 'domain', 'dom', 'workgroup', 'guest'],
  // These would send the mount to another server or path than the pool's own.
  ...['addr', 'ip', 'unc', 'prefixpath', 'mountaddr', 'mounthost'],
];

/** The settings checked beyond their schema, with the protocol filled in and the export path normalized. */
export function checkNetfsSource(s: NetfsSource, hasPassword: boolean): NetfsSource {
  const protocol = s.protocol ?? 'nfs';
  if (!(HOST_NAME.test(s.host) || (s.host.includes(':') && IPV6.test(s.host)))) throw errors.invalid(`host '${s.host}' is not a host name or an IP address`, { host: s.host });
  const foreign = protocol === 'nfs' ? (['share', 'smbVersion', 'username', 'domain'] as const) : (['export', 'nfsVersion'] as const);
  for (const f of foreign) if (s[f] !== undefined) throw errors.invalid(`${f} does not apply to a ${protocol} pool`, { field: f });
  if (protocol === 'nfs' && hasPassword) throw errors.invalid('a password does not apply to an nfs pool');
  for (const o of s.mountOptions ?? []) {
    if (!OPTION.test(o)) throw errors.invalid(`mount option '${o}' is not NAME or NAME=VALUE (letters, digits, . _ : / -)`, { option: o });
    const name = o.split('=')[0]!;
    if (RESERVED_OPTIONS.includes(name)) throw errors.invalid(`mount option '${name}' cannot be given: ${['dev', 'suid', 'exec'].includes(name) ? 'network pools are always mounted nodev,nosuid,noexec' : "the pool's own settings decide it"}`, { option: o });
  }
  if (protocol === 'nfs') {
    if (s.export === undefined) throw errors.invalid('an nfs pool needs the export (--export /path)');
    if (!s.export.startsWith('/') || /[\0\n]/.test(s.export)) throw errors.invalid(`export '${s.export}' is not an absolute path`, { export: s.export });
    const exp = path.posix.normalize(s.export).replace(/(.)\/$/, '$1');
    return { ...s, protocol, export: exp };
  }
  if (s.share === undefined) throw errors.invalid('a cifs pool needs the share (--share NAME)');
  if (/[/\\,]/.test(s.share) || [...s.share].some((c) => c.charCodeAt(0) < 0x20)) throw errors.invalid(`share '${s.share}' is not a share name`, { share: s.share });
  for (const f of ['username', 'domain'] as const) {
    const v = s[f];
    if (v !== undefined && !CIFS_NAME.test(v)) throw errors.invalid(`${f} '${v}' has characters a mount cannot take (letters, digits, . _ @ $ -)`, { field: f });
  }
  if (hasPassword && s.username === undefined) throw errors.invalid('a password needs a username (--username)');
  return { ...s, protocol };
}

/** How the host module mounts the pool's share. */
export function shareOf(s: NetfsSource): NetShare {
  const options = s.mountOptions ?? [];
  if ((s.protocol ?? 'nfs') === 'nfs') return { protocol: 'nfs', host: s.host, export: s.export!, ...(s.nfsVersion ? { version: s.nfsVersion } : {}), options };
  return {
    protocol: 'cifs',
    host: s.host,
    share: s.share!,
    ...(s.username ? { username: s.username } : {}),
    ...(s.domain ? { domain: s.domain } : {}),
    ...(s.smbVersion ? { version: s.smbVersion } : {}),
    options,
  };
}
