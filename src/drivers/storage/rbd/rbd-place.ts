import path from 'node:path';
import type { PoolDefinition } from '../../../model/pool-types.js';
import type { RbdPlace } from '../../../host/rbd.js';
import type { RbdSource } from './rbd-settings.js';

export type Def = PoolDefinition<RbdSource>;

/** Where the pool's images are, and how to reach the cluster. */
export function placeOf(def: Def): RbdPlace {
  return { monitors: def.source.monitors, user: def.source.user, keyFile: def.secrets['key']!, pool: def.source.rbdPool, ...(def.source.namespace ? { namespace: def.source.namespace } : {}) };
}

/**
 * The Ceph client settings qemu reads for the pool's images (next to its key): without them qemu would
 * read the host's /etc/ceph/ceph.conf, or a ceph.conf in its working directory, and wait 300 s for a
 * cluster that does not answer. Written when the pool starts or is probed.
 */
export const clientConfOf = (def: Def): string => path.join(path.dirname(def.secrets['key']!), 'ceph-client.conf');

/** The client settings of clientConfOf: connecting gives up after `connectSeconds`; I/O waits for the cluster as long as it takes. */
export const clientConf = (connectSeconds: number): string => `[client]\nclient mount timeout = ${connectSeconds}\n`;

/** The pool's place as people read it: `pool` or `pool/namespace`. */
export const placeName = (p: RbdPlace): string => `${p.pool}${p.namespace ? `/${p.namespace}` : ''}`;
