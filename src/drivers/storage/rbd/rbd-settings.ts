import { Type, type Static } from 'typebox';
import { errors } from '../../../model/errors.js';
import { parseSize } from '../../../model/sizes.js';

/** An rbd pool's settings: the cluster's monitors, the Ceph pool (and namespace) holding the images, and the cephx user. */
export const RbdSettings = Type.Object(
  {
    monitors: Type.Array(Type.String({ minLength: 1, maxLength: 300 }), { minItems: 1, maxItems: 16, description: "the cluster's monitors, HOST[:PORT] (comma-separated; port 3300 when left out)" }),
    rbdPool: Type.String({ minLength: 1, maxLength: 128, description: 'the Ceph pool holding the images' }),
    namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'an RBD namespace inside that pool' })),
    user: Type.String({ minLength: 1, maxLength: 128, description: 'the cephx user (without "client.")' }),
    key: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "the cephx user's key (base64, as `ceph auth get-key` prints it); required" })),
    createPool: Type.Optional(Type.Boolean({ description: 'pool build makes the Ceph pool (and the namespace) when missing; otherwise they must exist' })),
  },
  { additionalProperties: false },
);
export type RbdSource = Static<typeof RbdSettings>;

/** Volume create options of an rbd pool: how the image is laid out in objects and what it offers. */
export const RbdVolumeOptions = Type.Object(
  {
    objectSize: Type.Optional(Type.String({ minLength: 1, maxLength: 16, description: 'bytes per RADOS object, a power of two from 4K to 32M (default 4M)' })),
    features: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 32 }), { maxItems: 8, description: 'image features (default: layering, exclusive-lock, object-map, fast-diff, deep-flatten)' })),
  },
  { additionalProperties: false },
);
export type RbdVolumeOptionsT = Static<typeof RbdVolumeOptions>;

/** Image features kvmpool lets a volume have (journaling and data-pool need more than one pool's settings). */
export const IMAGE_FEATURES = ['layering', 'exclusive-lock', 'object-map', 'fast-diff', 'deep-flatten'] as const;

const CEPH_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/;

/** The settings checked beyond their schema: names Ceph takes, monitors as HOST:PORT, the user without `client.`. */
export function checkRbdSource(s: RbdSource, hasKey: boolean): RbdSource {
  if (!hasKey) throw errors.invalid("an rbd pool needs the user's cephx key (--secret-file FILE)");
  const monitors = [
    ...new Set(
      s.monitors.map((m) => {
        const match = HOST.exec(m);
        const port = match?.[1] === undefined ? 3300 : Number(match[1]);
        if (!match || port < 1 || port > 65535) throw errors.invalid(`monitor '${m}' is not HOST[:PORT]`, { monitor: m });
        return match[1] === undefined ? `${m}:3300` : m;
      }),
    ),
  ];
  const user = s.user.replace(/^client\./, '');
  for (const [field, value] of [['rbdPool', s.rbdPool], ['namespace', s.namespace], ['user', user]] as const) {
    if (value !== undefined && !CEPH_NAME.test(value)) throw errors.invalid(`${field} '${value}' has characters Ceph names cannot have (letters, digits, . _ -)`, { field });
  }
  return { ...s, monitors, user };
}

/** Checks volume options (the object size a power of two from 4K to 32M, features known); returns the object size in bytes. */
export function checkRbdVolumeOptions(o: RbdVolumeOptionsT): number | undefined {
  const objectSize = o.objectSize === undefined ? undefined : parseSize(o.objectSize);
  if (objectSize !== undefined && (objectSize < 4096 || objectSize > 32 * 1024 * 1024 || (objectSize & (objectSize - 1)) !== 0)) {
    throw errors.invalid(`object size ${o.objectSize} is not a power of two from 4K to 32M`, { objectSize: o.objectSize });
  }
  for (const f of o.features ?? []) {
    if (!(IMAGE_FEATURES as readonly string[]).includes(f)) throw errors.invalid(`image feature '${f}' is not one of ${IMAGE_FEATURES.join(', ')}`, { feature: f });
  }
  const has = (f: string) => o.features === undefined || o.features.includes(f);
  if (has('object-map') && !has('exclusive-lock')) throw errors.invalid('object-map needs exclusive-lock');
  if (has('fast-diff') && !has('object-map')) throw errors.invalid('fast-diff needs object-map');
  return objectSize;
}
