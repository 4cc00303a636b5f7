import { Type, type Static } from 'typebox';

/** Partition tables a disk pool makes. */
export const PARTITION_LABELS = ['gpt', 'dos'] as const;

/** A disk pool's settings: the whole disk, and the partition table build writes. */
export const DiskSettings = Type.Object(
  {
    devices: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { maxItems: 64, description: 'the whole disk (one)' }),
    label: Type.Optional(Type.Enum(PARTITION_LABELS, { description: 'the partition table build makes (default gpt)' })),
  },
  { additionalProperties: false },
);
export type DiskSource = Static<typeof DiskSettings>;
/** Partitions have no create options of their own. */
export const DiskVolumeOptions = Type.Object({}, { additionalProperties: false });
