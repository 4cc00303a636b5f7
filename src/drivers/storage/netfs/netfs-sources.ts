import { Type, type Static } from 'typebox';
import { errors } from '../../../model/errors.js';
import { cifsShares, nfsExports } from '../../../host/netfs.js';
import type { FoundSource, SourceDiscovery } from '../driver.js';
import { checkNetfsSource, NETFS_PROTOCOLS } from './netfs-settings.js';

/** How long a server may take to say what it shares. */
const FIND_TIMEOUT_MS = 30_000;

/** What a search of a file server takes. */
export const NetfsSourcesQuery = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 253, description: 'the server to ask' }),
    protocol: Type.Optional(Type.Enum(NETFS_PROTOCOLS, { description: 'nfs (default: the exports, from its mountd) or cifs (the shares)' })),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'the CIFS user (none: ask as a guest)' })),
    domain: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "the CIFS user's domain" })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: "the CIFS user's password" })),
  },
  { additionalProperties: false },
);

/** The exports of an NFS server or the file shares of a CIFS server, each as the settings of a netfs pool. */
export const netfsSources: SourceDiscovery<typeof NetfsSourcesQuery> = {
  query: NetfsSourcesQuery,
  secrets: ['password'],
  async find(q: Static<typeof NetfsSourcesQuery>, secrets): Promise<FoundSource[]> {
    const protocol = q.protocol ?? 'nfs';
    // The same checks as a definition's: a host that is no host name never reaches a tool.
    if (protocol === 'nfs') {
      if (q.username !== undefined || q.domain !== undefined || secrets['password'] !== undefined) throw errors.invalid('an NFS server is asked without credentials');
      checkNetfsSource({ host: q.host, export: '/' }, false);
      return (await nfsExports(q.host, FIND_TIMEOUT_MS)).map((e) => ({ source: { host: q.host, protocol, export: e.export }, details: `clients: ${e.clients.join(', ')}` }));
    }
    const user = q.username === undefined ? undefined : { username: q.username, ...(q.domain ? { domain: q.domain } : {}), ...(secrets['password'] ? { passwordFile: secrets['password'] } : {}) };
    checkNetfsSource({ host: q.host, protocol, share: 'x', ...(user ? { username: user.username } : {}), ...(q.domain ? { domain: q.domain } : {}) }, secrets['password'] !== undefined);
    return (await cifsShares(q.host, FIND_TIMEOUT_MS, user)).map((s) => ({
      source: { host: q.host, protocol, share: s.share, ...(user ? { username: user.username } : {}), ...(q.domain ? { domain: q.domain } : {}) },
      details: s.comment,
    }));
  },
};
