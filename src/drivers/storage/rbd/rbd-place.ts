import type { PoolDefinition } from '../../../model/pool-types.js';
import type { RbdPlace } from '../../../host/rbd.js';
import type { RbdSource } from './rbd-settings.js';

export type Def = PoolDefinition<RbdSource>;

/** Where the pool's images are, and how to reach the cluster. */
export function placeOf(def: Def): RbdPlace {
  return { monitors: def.source.monitors, user: def.source.user, keyFile: def.secrets['key']!, pool: def.source.rbdPool, ...(def.source.namespace ? { namespace: def.source.namespace } : {}) };
}

/** The pool's place as people read it: `pool` or `pool/namespace`. */
export const placeName = (p: RbdPlace): string => `${p.pool}${p.namespace ? `/${p.namespace}` : ''}`;
