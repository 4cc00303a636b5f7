import { Type, type Static, type TSchema, type TUnsafe } from 'typebox';
import { JOB_STATES } from '../model/job-types.js';
import { volumeFactsProperties } from '../model/volume-schema.js';
import { MAX_PAGE, PREALLOC_MODES, SNAPSHOT_KINDS, WIPE_ALGORITHMS } from '../model/volume-types.js';
import type { VolumeOptionsBody } from './pool-schemas.js';

/** JSON schemas of the API, declared once: validation, types, OpenAPI and the client all use them. */

const Bytes = Type.Integer({ minimum: 0, description: 'bytes' });
/** A size in bytes, or a string with a binary unit (`10G`). */
const Size = Type.Union([Type.Integer({ minimum: 1 }), Type.String({ minLength: 1, maxLength: 64 })]);

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }),
});

const DevicePath = Type.String({ minLength: 1, maxLength: 4096 });

// The stamp says when the store's facts were read, the mark who made the volume (shown as `managed`): the daemon's own business.
const { stamp: _stamp, marked: _marked, ...publicFacts } = volumeFactsProperties;
export const Volume = Type.Object({
  ...publicFacts,
  pool: Type.String(),
  key: Type.String(),
  managed: Type.Boolean(),
  created: Type.String(),
  features: Type.Array(Type.String()),
  busy: Type.Optional(Type.String()),
});
export type VolumeBody = Static<typeof Volume>;

const CreateVolumeCommon = {
  name: Type.String({ minLength: 1, maxLength: 512 }),
  capacity: Size,
  format: Type.Optional(Type.String({ maxLength: 32 })),
  prealloc: Type.Optional(Type.Enum(PREALLOC_MODES)),
  clusterSize: Type.Optional(Size),
  lazyRefcounts: Type.Optional(Type.Boolean()),
};
/** What `POST /pools/{pool}/volumes` takes: the common fields, and the volume options of the pool's type. */
export type CreateVolumeBody = Static<ReturnType<typeof Type.Object<typeof CreateVolumeCommon>>> & VolumeOptionsBody;

/** The create body for the types a daemon knows (`options`: every type's volume options, see volumeOptionProperties). */
export function createVolumeSchema(options: Record<string, TSchema>): TUnsafe<CreateVolumeBody> {
  return Type.Unsafe<CreateVolumeBody>(Type.Object({ ...options, ...CreateVolumeCommon }, { additionalProperties: false }));
}

export const Job = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  target: Type.String(),
  state: Type.Enum(JOB_STATES),
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
/** A page of a listing: at most `limit` volumes whose names sort after `after`. */
export const ListVolumesQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE })), after: Type.Optional(Type.String({ maxLength: 512 })) },
  { additionalProperties: false },
);
export const ForceQuery = Type.Object({ force: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export const DeleteVolumeQuery = Type.Object(
  {
    force: Type.Optional(Type.Boolean({ description: 'also a volume kvmpool did not create, or one whose snapshots go with it' })),
    defer: Type.Optional(Type.Boolean({ description: 'a parent whose clones read through to it: gone from the listing now, its storage freed once its last clone is gone' })),
  },
  { additionalProperties: false },
);
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
  kind: Type.Enum(SNAPSHOT_KINDS),
  invalid: Type.Optional(Type.Boolean()),
});
export type SnapshotBody = Static<typeof Snapshot>;
export const CreateSnapshot = Type.Object({ name: Type.String({ minLength: 1, maxLength: 512 }), size: Type.Optional(Size) }, { additionalProperties: false });
export const CloneVolume = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 512 }),
    pool: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    format: Type.Optional(Type.String({ maxLength: 32 })),
    /** auto, copy, or an instant method of the pool type (see GET /storage-types). */
    method: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);
/** A file of the daemon's host, by absolute path (named only over the unix socket). */
const HostFile = Type.String({ minLength: 2, maxLength: 4096, pattern: '^/' });
/** Device and inode at which the caller saw the file (upload) or its directory (download): FORBIDDEN when the daemon sees another. */
const SeenAs = Type.Object({ dev: Type.String({ pattern: '^[0-9]{1,20}$' }), ino: Type.String({ pattern: '^[0-9]{1,20}$' }) }, { additionalProperties: false });
/** What both directions take: the file, a range of the volume, a second hash, where the caller saw it. */
const HostFileTransfer = {
  file: HostFile,
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
  length: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Read the content on both sides and compare their sha256. */
  verify: Type.Optional(Type.Boolean()),
  seen: Type.Optional(SeenAs),
};
export const UploadFile = Type.Object({ ...HostFileTransfer, grow: Type.Optional(Type.Boolean()), force: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
/** `sparse`: leave holes as holes in the file; else it ends up allocated whole. */
export const DownloadFile = Type.Object({ ...HostFileTransfer, sparse: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export const WipeVolume = Type.Object({ algorithm: Type.Optional(Type.Enum(WIPE_ALGORITHMS)), verify: Type.Optional(Type.Boolean()), force: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
