import { Type, type Static } from 'typebox';
import { DISK_BUSES, VM_STATES } from '../model/vm-types.js';
import { nullable } from './nullable.js';

/** JSON schemas of the VM API. */

const Size = Type.Union([Type.Integer({ minimum: 1 }), Type.String({ minLength: 1, maxLength: 64 })]);
const Disk = Type.Object({ pool: Type.String(), volume: Type.String(), bus: Type.Enum(DISK_BUSES), readonly: Type.Boolean() });
const Nic = Type.Object({ network: Type.String(), port: Type.String() });

export const Vm = Type.Object({
  name: Type.String(),
  uuid: Type.String(),
  cpus: Type.Integer(),
  memory: Type.Integer({ description: 'bytes' }),
  disks: Type.Array(Disk),
  nics: Type.Array(Nic),
  kernel: Type.Optional(Type.String()),
  initrd: Type.Optional(Type.String()),
  append: Type.Optional(Type.String()),
  boot: Type.Optional(Type.Enum(['disk', 'cdrom'] as const)),
  autostart: Type.Boolean(),
  state: Type.Enum(VM_STATES),
  reason: Type.Optional(Type.String()),
  accelerator: nullable(Type.Enum(['kvm', 'tcg'] as const)),
  pid: nullable(Type.Integer()),
  started: Type.Optional(Type.String()),
});
export type VmBody = Static<typeof Vm>;

const DiskInput = Type.Object(
  { pool: Type.String({ minLength: 1, maxLength: 512 }), volume: Type.String({ minLength: 1, maxLength: 512 }), bus: Type.Optional(Type.String({ maxLength: 16 })), readonly: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
const NicInput = Type.Object({ network: Type.String({ minLength: 1, maxLength: 512 }), port: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false });

export const DefineVm = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 512 }),
    // Ranges are checked by the service, with its messages and codes.
    cpus: Type.Integer(),
    memory: Size,
    disks: Type.Optional(Type.Array(DiskInput, { maxItems: 64 })),
    nics: Type.Optional(Type.Array(NicInput, { maxItems: 32 })),
    kernel: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    initrd: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    append: Type.Optional(Type.String({ maxLength: 4096 })),
    boot: Type.Optional(Type.String({ maxLength: 16 })),
    autostart: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const VmParams = Type.Object({ vm: Type.String() });
export const StopVm = Type.Object({ timeout: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600 })) }, { additionalProperties: false });
export const ConsoleQuery = Type.Object({ offset: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false });
export const ConsoleBody = Type.Object({ data: Type.String(), offset: Type.Integer() });
export const AttachDisk = DiskInput;
export const AttachNic = NicInput;
export const DetachDisk = Type.Object({ pool: Type.String(), volume: Type.String() }, { additionalProperties: false });

export const AttachInfoQuery = Type.Object(
  { as: Type.Optional(Type.Enum(['qemu', 'libvirt'] as const)), bus: Type.Optional(Type.Enum(DISK_BUSES)), readonly: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export const PortAttachInfoQuery = Type.Object({ as: Type.Optional(Type.Enum(['qemu', 'libvirt'] as const)) }, { additionalProperties: false });
export const AttachInfo = Type.Object({ as: Type.String(), args: Type.Optional(Type.Array(Type.String())), text: Type.String() });

/** Fields of VMs that answers always carry (null when the VM is not running). */
export const VM_FIELDS = ['accelerator', 'pid'] as const;
