import { createHash } from 'node:crypto';
import { isLocal, type VolumeAccess } from '../model/access.js';
import type { DiskBus } from '../model/vm-types.js';
import { accessSecrets, escape, protocolNode, secretObjectArg, type QemuSecret } from './qemu-access.js';

/** The qemu binary VMs run with. */
export const QEMU = 'qemu-system-x86_64';

/** A volume as a VM disk: what qemu needs to open it. */
export interface QemuDisk {
  /** `POOL/VOLUME`: names the disk's nodes and device, the same in every qemu that has it. */
  ref: string;
  /** How qemu reaches the volume's bytes (a file, a device, a protocol), as its driver says. */
  access: VolumeAccess;
  format: 'raw' | 'qcow2';
  bus: DiskBus;
  readonly: boolean;
  /** The storage takes O_DIRECT: cache=none with native AIO; else the page cache and thread AIO. */
  direct: boolean;
  /** Thin or sparse storage: the guest's discards and written zeros free space. */
  discard: boolean;
  /** Attached as a CD-ROM (ide-cd) to boot from. */
  cdrom?: boolean;
  bootIndex?: number;
}

/** A port as a VM NIC. */
export interface QemuNic {
  /** `NETWORK/PORT` */
  ref: string;
  ifname: string;
  mac: string;
}

/** Everything a qemu command line is made of. */
export interface QemuSpec {
  name: string;
  uuid: string;
  cpus: number;
  memoryMiB: number;
  accelerator: 'kvm' | 'tcg';
  disks: QemuDisk[];
  nics: QemuNic[];
  kernel?: string;
  initrd?: string;
  append?: string;
  qmpSocket: string;
  consoleLog: string;
}

const short = (ref: string) => createHash('sha256').update(ref).digest('hex').slice(0, 12);
/** Node name of a disk's format layer (QMP block_resize, snapshots, unplug go by it). */
export const diskNode = (ref: string) => `disk-${short(ref)}`;
export const diskDeviceId = (ref: string) => `dev-${short(ref)}`;
export const nicNetdevId = (ref: string) => `net-${short(ref)}`;
export const nicDeviceId = (ref: string) => `nic-${short(ref)}`;

/** The secret objects a disk's protocol needs (created before its -blockdev, deleted after it). */
export function diskSecrets(d: QemuDisk): QemuSecret[] {
  return accessSecrets(d.access, diskNode(d.ref));
}

/** The two -blockdev layers of a disk (protocol, then format), as QMP blockdev-add takes them. */
export function diskBlockdevs(d: QemuDisk): Record<string, unknown>[] {
  const node = diskNode(d.ref);
  const protocol = {
    ...protocolNode(d.access, node),
    'node-name': `${node}-file`,
    'read-only': d.readonly,
    cache: { direct: d.direct, 'no-flush': false },
    // Native AIO is for local files and devices opened with O_DIRECT.
    ...(isLocal(d.access) ? { aio: d.direct ? 'native' : 'threads' } : {}),
    ...(d.discard ? { discard: 'unmap' } : {}),
  };
  const format = {
    driver: d.format,
    file: `${node}-file`,
    'node-name': node,
    'read-only': d.readonly,
    ...(d.discard ? { discard: 'unmap', 'detect-zeroes': 'unmap' } : {}),
  };
  return [protocol, format];
}

/** The guest device of a disk, as QMP device_add takes it. */
export function diskDevice(d: QemuDisk): Record<string, unknown> {
  const common = { drive: diskNode(d.ref), id: diskDeviceId(d.ref), ...(d.bootIndex !== undefined ? { bootindex: d.bootIndex } : {}) };
  if (d.cdrom) return { driver: 'ide-cd', ...common };
  if (d.bus === 'scsi') return { driver: 'scsi-hd', bus: 'scsi0.0', ...common };
  return { driver: 'virtio-blk-pci', ...common, ...(d.discard ? { discard: true } : {}) };
}

/** The -netdev of a NIC, as QMP netdev_add takes it. */
export function nicNetdev(n: QemuNic): Record<string, unknown> {
  return { type: 'tap', id: nicNetdevId(n.ref), ifname: n.ifname, script: 'no', downscript: 'no' };
}

/** The -netdev option of a NIC on the command line (the same tap as `nicNetdev`). */
export function nicNetdevArg(n: QemuNic): string {
  return `tap,id=${nicNetdevId(n.ref)},ifname=${escape(n.ifname)},script=no,downscript=no`;
}

export function nicDevice(n: QemuNic): Record<string, unknown> {
  return { driver: 'virtio-net-pci', netdev: nicNetdevId(n.ref), mac: n.mac, id: nicDeviceId(n.ref) };
}

/**
 * The qemu command line of a VM. It starts paused (-S): the daemon connects to QMP, then continues it,
 * so no event is missed. Disks and devices are JSON (-blockdev, -device), as hot-plug gives them to QMP.
 */
export function qemuArgs(s: QemuSpec): string[] {
  const args = [
    '-name', `guest=${escape(s.name)},debug-threads=on`,
    '-uuid', s.uuid,
    '-machine', 'pc',
    '-accel', s.accelerator,
    ...(s.accelerator === 'kvm' ? ['-cpu', 'host'] : []),
    '-smp', String(s.cpus),
    '-m', `${s.memoryMiB}M`,
    '-nodefaults', '-no-user-config', '-display', 'none', '-S',
    '-qmp', `unix:${escape(s.qmpSocket)},server=on,wait=off`,
    // append=on: writes go to the end even after kvmpool cuts the log short.
    '-chardev', `file,id=console,path=${escape(s.consoleLog)},append=on`,
    '-serial', 'chardev:console',
    '-msg', 'timestamp=on',
  ];
  if (s.kernel) args.push('-kernel', s.kernel);
  if (s.initrd) args.push('-initrd', s.initrd);
  if (s.append !== undefined) args.push('-append', s.append);
  // One virtio-scsi controller always: SCSI disks can then be hot-plugged too.
  args.push('-device', JSON.stringify({ driver: 'virtio-scsi-pci', id: 'scsi0' }));
  for (const d of s.disks) {
    for (const secret of diskSecrets(d)) args.push('-object', secretObjectArg(secret));
    for (const b of diskBlockdevs(d)) args.push('-blockdev', JSON.stringify(b));
    args.push('-device', JSON.stringify(diskDevice(d)));
  }
  for (const n of s.nics) {
    args.push('-netdev', nicNetdevArg(n));
    args.push('-device', JSON.stringify(nicDevice(n)));
  }
  return args;
}
