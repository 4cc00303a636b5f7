import { Type } from 'typebox';

/** The facts of a volume as a JSON schema: the store checks what it reads back, the API what it answers. */
export const volumeFactsProperties = {
  name: Type.String(),
  path: Type.String(),
  format: Type.String(),
  capacity: Type.Integer({ minimum: 0, description: 'bytes' }),
  allocation: Type.Integer({ minimum: 0, description: 'bytes' }),
  identity: Type.String(),
  stamp: Type.Optional(Type.String()),
  backingFile: Type.Optional(Type.String()),
  backingFormat: Type.Optional(Type.String()),
  backingVolume: Type.Optional(Type.String()),
  backingOutsidePool: Type.Optional(Type.Boolean()),
  parent: Type.Optional(Type.String({ description: 'a layered clone (RBD): the image it reads through to, pool[/namespace]/image' })),
  snapshots: Type.Optional(Type.Integer()),
  objectSize: Type.Optional(Type.Integer({ minimum: 0, description: 'bytes: the size of the objects the storage keeps the volume in (RBD)' })),
  storageFeatures: Type.Optional(Type.Array(Type.String(), { description: 'what the storage enables on the volume itself (RBD image features)' })),
  kind: Type.Optional(Type.String()),
  unreadable: Type.Optional(Type.Boolean()),
  marked: Type.Optional(Type.Boolean()),
  warnings: Type.Optional(Type.Array(Type.String())),
};

export const VolumeFactsSchema = Type.Object(volumeFactsProperties);

/** The facts the API shows: all but the stamp, which says when the store read them, and the storage's mark (the API says `managed`): the daemon's own business. */
export const PUBLIC_FACT_KEYS: readonly string[] = Object.keys(volumeFactsProperties).filter((k) => k !== 'stamp' && k !== 'marked');
