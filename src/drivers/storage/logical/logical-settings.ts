import { Type, type Static } from 'typebox';
import type { PoolDefinition } from '../../../model/pool-types.js';

/** A size in bytes, or a string with a binary unit (`100G`). */
const size = (description: string) => Type.Union([Type.Integer({ minimum: 1 }), Type.String({ minLength: 1, maxLength: 64 })], { description });

/** A logical pool's settings: the devices of its volume group (none: an existing VG is adopted), its name, its thin pool. */
export const LogicalSettings = Type.Object(
  {
    devices: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { minItems: 1, maxItems: 64, description: 'block devices, comma-separated (none: adopt an existing volume group)' })),
    vg: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'the volume group (default: the pool name)' })),
    thinPool: Type.Optional(size('size of the thin pool build makes (for thin volumes)')),
    thinAutoExtend: Type.Optional(Type.Boolean({ description: 'grow the thin pool from free space of the volume group when it is 80% full' })),
    shared: Type.Optional(Type.Boolean({ description: 'a volume group several hosts share on a SAN LUN, locked with lvmlockd and sanlock: each volume is active on one host at a time' })),
  },
  { additionalProperties: false },
);
/** The settings as the driver keeps them: the VG named, the thin pool's size in bytes. */
export type LogicalSource = Static<typeof LogicalSettings> & { vg?: string; thinPool?: number | string };
export type LogicalDefinition = PoolDefinition<LogicalSource>;

/** How a new LV is laid out: thin (in the pool's thin pool), striped, or raid1; linear otherwise. */
export const LogicalVolumeOptions = Type.Object(
  {
    thin: Type.Optional(Type.Boolean({ description: "a thin volume in the pool's thin pool (may over-commit)" })),
    stripes: Type.Optional(Type.Integer({ minimum: 1, maximum: 128, description: 'stripe over this many devices' })),
    stripeSize: Type.Optional(size('stripe size (with --stripes)')),
    mirrors: Type.Optional(Type.Integer({ minimum: 0, maximum: 16, description: 'raid1 with this many extra copies' })),
  },
  { additionalProperties: false },
);
export type LogicalVolumeOptionsValue = Static<typeof LogicalVolumeOptions>;
