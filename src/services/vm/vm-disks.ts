import { errors } from '../../model/errors.js';
import { diskNode } from '../../host/qemu-system.js';
import type { ServiceContext } from '../context.js';
import type { VmDisks, VolumeAttachment } from '../storage/vm-disks.js';
import { diskOf } from './vm-definition.js';
import type { VmTracker } from './vm-tracker.js';

/** The view of VMs' disks that the volume services need: which VM has a volume, and live resize and snapshots through its qemu. */
export class VmDiskView implements VmDisks {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly tracker: VmTracker,
  ) {}

  runningVmOf(pool: string, volume: string): string | undefined {
    return this.tracker.active().find((name) => diskOf(this.ctx.store.vms.get(name), pool, volume));
  }

  readonlyDisk(vm: string, pool: string, volume: string): boolean {
    return diskOf(this.ctx.store.vms.get(vm), pool, volume)?.readonly === true;
  }

  definedVmOf(pool: string, volume: string): string | undefined {
    return this.ctx.store.vms.list().find((v) => diskOf(v, pool, volume))?.name;
  }

  attachments(pool: string): Map<string, VolumeAttachment> {
    const out = new Map<string, VolumeAttachment>();
    const active = new Set(this.tracker.active());
    for (const vm of this.ctx.store.vms.list()) {
      for (const d of vm.disks.filter((x) => x.pool === pool)) {
        const a: VolumeAttachment = out.get(d.volume) ?? { vm: vm.name };
        if (active.has(vm.name)) {
          a.running = vm.name;
          if (!d.readonly) a.writing = vm.name;
        }
        out.set(d.volume, a);
      }
    }
    return out;
  }

  /** Grows a running VM's disk through QMP: the guest sees the new size at once. */
  async resizeLive(vm: string, pool: string, volume: string, bytes: number): Promise<void> {
    const proc = this.tracker.get(vm);
    if (!proc) throw errors.notFound('running VM', vm);
    await proc.execute('block_resize', { 'node-name': diskNode(`${pool}/${volume}`), size: bytes });
    this.ctx.log(`vm ${vm}: disk ${pool}/${volume} grown to ${bytes} bytes`);
  }

  /** Takes (or deletes) a qcow2 internal snapshot of a running VM's disk through its qemu. */
  async snapshotLive(vm: string, pool: string, volume: string, snapshot: string, remove: boolean): Promise<void> {
    const proc = this.tracker.get(vm);
    if (!proc) throw errors.notFound('running VM', vm);
    if (this.readonlyDisk(vm, pool, volume)) {
      throw errors.inUse(`${pool}/${volume} is a read-only disk of running vm ${vm}: no snapshot while it runs`, { vm });
    }
    const device = diskNode(`${pool}/${volume}`);
    if (remove) await proc.execute('blockdev-snapshot-delete-internal-sync', { device, name: snapshot });
    else await proc.execute('blockdev-snapshot-internal-sync', { device, name: snapshot });
  }
}
