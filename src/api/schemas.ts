import { Type, type Static } from 'typebox';
import { CLONE_METHODS, FS_FORMATS, JOB_STATES, PARTITION_LABELS, POOL_STATES, POOL_TYPES, PREALLOC_MODES, WIPE_ALGORITHMS } from '../model/types.js';

/** JSON schemas of the API, declared once: validation, types, OpenAPI and the client all use them. */

const literals = <T extends readonly string[]>(values: T) => Type.Enum(values);
const Bytes = Type.Integer({ minimum: 0, description: 'bytes' });
/** A size in bytes, or a string with a binary unit (`10G`). */
const Size = Type.Union([Type.Integer({ minimum: 1 }), Type.String({ minLength: 1, maxLength: 64 })]);

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }),
});

const DevicePath = Type.String({ minLength: 1, maxLength: 4096 });

const PoolSource = Type.Object({
  devices: Type.Optional(Type.Array(Type.String())),
  fsFormat: Type.Optional(literals(FS_FORMATS)),
  label: Type.Optional(literals(PARTITION_LABELS)),
  vg: Type.Optional(Type.String()),
  thinPool: Type.Optional(Bytes),
  thinAutoExtend: Type.Optional(Type.Boolean()),
});

export const Pool = Type.Object({
  name: Type.String(),
  type: literals(POOL_TYPES),
  target: Type.String(),
  autostart: Type.Boolean(),
  source: Type.Optional(PoolSource),
  state: literals(POOL_STATES),
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

export const DefinePool = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 512 }),
    type: Type.String({ minLength: 1, maxLength: 32 }),
    target: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    autostart: Type.Optional(Type.Boolean()),
    source: Type.Optional(
      Type.Object(
        {
          devices: Type.Optional(Type.Array(DevicePath, { minItems: 1, maxItems: 64 })),
          fsFormat: Type.Optional(literals(FS_FORMATS)),
          label: Type.Optional(literals(PARTITION_LABELS)),
          vg: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
          thinPool: Type.Optional(Size),
          thinAutoExtend: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const Volume = Type.Object({
  name: Type.String(),
  pool: Type.String(),
  key: Type.String(),
  path: Type.String(),
  format: Type.String(),
  capacity: Bytes,
  allocation: Bytes,
  managed: Type.Boolean(),
  created: Type.String(),
  features: Type.Array(Type.String()),
  identity: Type.String(),
  busy: Type.Optional(Type.String()),
  backingFile: Type.Optional(Type.String()),
  backingFormat: Type.Optional(Type.String()),
  backingOutsidePool: Type.Optional(Type.Boolean()),
  unreadable: Type.Optional(Type.Boolean()),
  snapshots: Type.Optional(Type.Integer()),
  kind: Type.Optional(Type.String()),
  warnings: Type.Optional(Type.Array(Type.String())),
});
export type VolumeBody = Static<typeof Volume>;

export const CreateVolume = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 512 }),
    capacity: Size,
    format: Type.Optional(Type.String({ maxLength: 32 })),
    prealloc: Type.Optional(literals(PREALLOC_MODES)),
    clusterSize: Type.Optional(Size),
    lazyRefcounts: Type.Optional(Type.Boolean()),
    thin: Type.Optional(Type.Boolean()),
    stripes: Type.Optional(Type.Integer({ minimum: 1, maximum: 128 })),
    stripeSize: Type.Optional(Size),
    mirrors: Type.Optional(Type.Integer({ minimum: 0, maximum: 16 })),
  },
  { additionalProperties: false },
);

export const Job = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  target: Type.String(),
  state: literals(JOB_STATES),
  progress: Type.Object({ done: Bytes, total: Bytes }),
  created: Type.String(),
  finished: Type.Optional(Type.String()),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Record(Type.String(), Type.Unknown())) })),
  result: Type.Optional(Type.Unknown()),
});
export type JobBody = Static<typeof Job>;

/** A create that runs as a job answers 202 with the job. */
export const Accepted = Type.Object({ job: Job });

export const PoolParams = Type.Object({ pool: Type.String() });
export const VolumeParams = Type.Object({ pool: Type.String(), volume: Type.String() });
export const JobParams = Type.Object({ id: Type.String() });
export const ForceQuery = Type.Object({ force: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export const Force = Type.Object({ force: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export const PatchPool = Type.Object({ autostart: Type.Boolean() }, { additionalProperties: false });
export const BuildPool = Type.Object({ overwrite: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export const PoolDeviceBody = Type.Object({ device: DevicePath }, { additionalProperties: false });
export const ResizeVolume = Type.Object({ capacity: Size, shrink: Type.Optional(Type.Boolean()), force: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export const RenameVolume = Type.Object({ name: Type.String({ minLength: 1, maxLength: 512 }), force: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export const Version = Type.Object({ name: Type.String(), version: Type.String(), poolTypes: Type.Array(Type.String()) });
export const Empty = Type.Object({});

export const SnapshotParams = Type.Object({ pool: Type.String(), volume: Type.String(), snapshot: Type.String() });
export const Snapshot = Type.Object({
  name: Type.String(),
  created: Type.String(),
  capacity: Bytes,
  allocation: Type.Optional(Bytes),
  kind: literals(['internal', 'reflink', 'thin', 'cow'] as const),
  invalid: Type.Optional(Type.Boolean()),
});
export type SnapshotBody = Static<typeof Snapshot>;
export const CreateSnapshot = Type.Object({ name: Type.String({ minLength: 1, maxLength: 512 }), size: Type.Optional(Size) }, { additionalProperties: false });
export const CloneVolume = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 512 }),
    pool: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    format: Type.Optional(Type.String({ maxLength: 32 })),
    method: Type.Optional(literals(CLONE_METHODS)),
  },
  { additionalProperties: false },
);
export const WipeVolume = Type.Object({ algorithm: Type.Optional(literals(WIPE_ALGORITHMS)), verify: Type.Optional(Type.Boolean()), force: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
