/** What the volume services need to know of VMs (the VM services provide it, see services/vm/vm-disks.ts). */
export interface VmDisks {
  /** The running VM that has the volume as a disk, if any. */
  runningVmOf(pool: string, volume: string): string | undefined;
  /** Whether the VM has the volume as a read-only disk. */
  readonlyDisk(vm: string, pool: string, volume: string): boolean;
  /** A VM (running or not) that has the volume as a disk: it may not vanish or change its name under it. */
  definedVmOf(pool: string, volume: string): string | undefined;
  /** Tells the VM's qemu the disk's new size (qemu grows an image file itself). */
  resizeLive(vm: string, pool: string, volume: string, bytes: number): Promise<void>;
  /** Every disk of the pool some VM has, by volume: the VM, and the running VM that has it (and writes it). */
  attachments(pool: string): Map<string, VolumeAttachment>;
  /** Takes or deletes a qcow2 internal snapshot through the VM's qemu, which holds the image. */
  snapshotLive(vm: string, pool: string, volume: string, snapshot: string, remove: boolean): Promise<void>;
}

/** Which VMs have a volume as a disk. */
export interface VolumeAttachment {
  vm: string;
  running?: string;
  writing?: string;
}
