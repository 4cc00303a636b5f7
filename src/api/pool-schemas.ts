import { Type, type Static, type TObject, type TSchema, type TUnsafe } from 'typebox';
import { POOL_STATES } from '../model/pool-types.js';
import type { AnyStorageType, StorageType } from '../drivers/storage/driver.js';
import type { STORAGE_TYPES } from '../drivers/storage/registry.js';

/** JSON schemas of pools and storage types: the settings of each type come from its declaration. */

const Bytes = Type.Integer({ minimum: 0, description: 'bytes' });

export const Pool = Type.Object({
  name: Type.String(),
  type: Type.String(),
  target: Type.String(),
  autostart: Type.Boolean(),
  /** The type's settings, secrets left out. */
  source: Type.Record(Type.String(), Type.Unknown()),
  /** Names of the secrets the pool has (their values are never returned). */
  secrets: Type.Array(Type.String()),
  state: Type.Enum(POOL_STATES),
  reason: Type.Optional(Type.String()),
  built: Type.Boolean(),
  capacity: Bytes,
  allocation: Bytes,
  available: Bytes,
  volumes: Type.Integer({ minimum: 0 }),
  devices: Type.Optional(Type.Array(Type.Object({ path: Type.String(), size: Bytes, free: Bytes }))),
  freeExtents: Type.Optional(Type.Array(Type.Object({ start: Bytes, size: Bytes }))),
  thin: Type.Optional(
    Type.Object({ name: Type.String(), size: Bytes, dataPercent: Type.Number(), metadataPercent: Type.Number(), overcommit: Type.Number() }),
  ),
});
export type PoolBody = Static<typeof Pool>;

/** The built-in storage types (the API's static types; a daemon may know more at run time). */
type BuiltIn = (typeof STORAGE_TYPES)[number];
type DefineOf<T> = T extends StorageType<infer N, infer S, TObject> ? { name: string; type: N; target?: string; autostart?: boolean; source?: Static<S> } : never;
/** What `POST /pools` takes: a discriminated union on `type`, each type with its own settings. */
export type DefinePoolBody = DefineOf<BuiltIn>;

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type OptionsOf<T> = T extends StorageType<string, TObject, infer O> ? Static<O> : never;
/** The volume options of every built-in type, each optional (the pool's type says which apply). */
export type VolumeOptionsBody = Partial<UnionToIntersection<OptionsOf<BuiltIn>>>;

/** The body schema of `POST /pools` for the types a daemon knows: one branch per type, told apart by `type`. */
export function definePoolSchema(types: readonly AnyStorageType[]): TUnsafe<DefinePoolBody> {
  const branches = types.map((t) =>
    Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 512 }),
        type: Type.Literal(t.name),
        target: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
        autostart: Type.Optional(Type.Boolean()),
        source: Type.Optional(t.source),
      },
      { additionalProperties: false, title: `a ${t.name} pool` },
    ),
  );
  return Type.Unsafe<DefinePoolBody>({ type: 'object', oneOf: branches, discriminator: { propertyName: 'type' } });
}

/** The body of a discovery: a type, and the fields its discovery takes. */
export function findSourcesSchema(types: readonly AnyStorageType[]): TUnsafe<{ type: string; [field: string]: unknown }> {
  // Types without discovery take their name alone: the service answers NOT_SUPPORTED, naming the type.
  const branches = types.map((t) =>
    Type.Object({ type: Type.Literal(t.name), ...((t.sources?.query.properties ?? {}) as Record<string, TSchema>) }, { additionalProperties: false, title: `${t.name} sources` }),
  );
  return Type.Unsafe({ type: 'object', oneOf: branches, discriminator: { propertyName: 'type' } });
}

/** A source discovery found: settings for `pool define` of its type. */
export const FoundPoolSource = Type.Object({
  type: Type.String(),
  source: Type.Record(Type.String(), Type.Unknown(), { description: 'settings of a pool on it (pool define)' }),
  details: Type.String(),
});

/** The volume options of every type a daemon knows, as optional body fields. */
export function volumeOptionProperties(types: readonly AnyStorageType[]): Record<string, TSchema> {
  const out: Record<string, TSchema> = {};
  for (const t of types) for (const [k, v] of Object.entries(t.volumeOptions.properties as Record<string, TSchema>)) out[k] ??= Type.Optional(v);
  return out;
}

/** What `GET /storage-types` says of a type: its settings and volume options (JSON schemas), its capability table and verbs. */
export const StorageTypeInfo = Type.Object({
  name: Type.String(),
  summary: Type.String(),
  target: Type.Enum(['directory', 'derived'] as const),
  source: Type.Unknown({ description: 'JSON schema of the settings' }),
  secrets: Type.Array(Type.String()),
  volumeOptions: Type.Unknown({ description: 'JSON schema of the volume create options' }),
  createFormats: Type.Array(Type.String()),
  cloneMethods: Type.Array(Type.Object({ name: Type.String(), summary: Type.String(), format: Type.String() })),
  capabilities: Type.Unknown({ description: 'features per format and state' }),
  /** The CLI flag of each field of the settings and volume options (a secret's flag names the file it is read from). */
  flags: Type.Object({ source: Type.Record(Type.String(), Type.String()), volumeOptions: Type.Record(Type.String(), Type.String()), sourcesQuery: Type.Record(Type.String(), Type.String()) }),
  /** JSON schema of what discovery (`pool sources`) takes; absent for types without one. */
  sourcesQuery: Type.Optional(Type.Unknown()),
  sourcesSecrets: Type.Array(Type.String()),
  verbs: Type.Array(Type.String()),
  listsWhenStopped: Type.Boolean(),
});
export type StorageTypeBody = Static<typeof StorageTypeInfo>;

/** The verb groups a driver has. */
const VERB_GROUPS = ['volumes', 'resize', 'rename', 'snapshots', 'clones', 'copy', 'transfers', 'wipe', 'devices'] as const;

/** `fsFormat` as a CLI flag: `fs-format`. */
const kebab = (field: string) => field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The CLI flag of every field of `schema` (`flags` of the type first; a secret's flag ends in -file). */
function flagsOf(t: AnyStorageType, schema: TObject, secrets: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    Object.keys(schema.properties).map((f) => {
      const flag = t.flags?.[f] ?? kebab(f);
      return [f, secrets.includes(f) ? `${flag}-file` : flag];
    }),
  );
}

/** A storage type as `GET /storage-types` describes it. */
export function describeStorageType(t: AnyStorageType): StorageTypeBody {
  const d = t.driver;
  return {
    name: t.name,
    summary: t.summary,
    target: t.target,
    source: t.source,
    secrets: [...t.secrets],
    volumeOptions: t.volumeOptions,
    createFormats: [...(d.volumes?.formats ?? [])],
    cloneMethods: Object.entries(d.clones ?? {}).map(([name, m]) => ({ name, summary: m.summary, format: m.format })),
    capabilities: t.capabilities,
    flags: { source: flagsOf(t, t.source, t.secrets), volumeOptions: flagsOf(t, t.volumeOptions, []), sourcesQuery: t.sources ? flagsOf(t, t.sources.query, t.sources.secrets) : {} },
    ...(t.sources ? { sourcesQuery: t.sources.query } : {}),
    sourcesSecrets: [...(t.sources?.secrets ?? [])],
    verbs: ['lifecycle', ...VERB_GROUPS.filter((g) => d[g] !== undefined), ...(d.maintain ? ['maintain'] : [])],
    listsWhenStopped: d.listsWhenStopped,
  };
}
