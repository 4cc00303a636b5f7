/** Plain types of virtual machines. */

export const DISK_BUSES = ['virtio', 'scsi'] as const;
export type DiskBus = (typeof DISK_BUSES)[number];

export const VM_STATES = ['stopped', 'running', 'paused', 'crashed'] as const;
export type VmState = (typeof VM_STATES)[number];

/** A disk of a VM: a volume. */
export interface VmDisk {
  pool: string;
  volume: string;
  bus: DiskBus;
  readonly: boolean;
}

/** A NIC of a VM: a port (a tap). */
export interface VmNic {
  network: string;
  port: string;
}

/** What a user defines: persisted as-is. */
export interface VmDefinition {
  name: string;
  /** Stable identity, given to qemu (-uuid) and used to find the VM's qemu again. */
  uuid: string;
  cpus: number;
  /** Bytes. */
  memory: number;
  disks: VmDisk[];
  nics: VmNic[];
  kernel?: string;
  initrd?: string;
  append?: string;
  boot?: 'disk' | 'cdrom';
  autostart: boolean;
}

/** A VM as the API returns it. */
export interface VmInfo extends VmDefinition {
  state: VmState;
  /** Why it stopped or crashed (qemu's last words, the guest powering off, a reboot of the host). */
  reason?: string;
  accelerator?: 'kvm' | 'tcg';
  pid?: number;
  started?: string;
}
