import { KvmpoolError, errors } from '../../model/errors.js';
import { parsePortRef } from '../../model/names.js';
import { diskBlockdevs, diskDevice, diskDeviceId, diskNode, nicDevice, nicDeviceId, nicNetdev, nicNetdevId } from '../../host/qemu-system.js';
import type { ServiceContext } from '../context.js';
import type { VolumeService } from '../storage/volumes.js';
import type { PortService } from '../network/ports.js';
import type { VmInfo } from '../../model/vm-types.js';
import { resolveDisk, resolveNic } from './vm-devices.js';
import { diskAttachInfo, nicAttachInfo, type AttachFormat, type AttachInfo } from './attach-info.js';
import type { VmProcess } from './vm-process.js';
import { parseDisk, vmLock, type DiskInput, type VmService } from './vms.js';

/** How long a guest gets to release a hot-unplugged device. */
const UNPLUG_TIMEOUT_MS = 30_000;

/**
 * A VM's disks and NICs after it is defined: attach and detach (hot-plug through QMP when it runs), and
 * what another tool needs to use a volume or port (attach-info).
 */
export class VmDeviceService {
  private readonly ctx: ServiceContext;

  constructor(
    private readonly vms: VmService,
    private readonly volumes: VolumeService,
    private readonly ports: PortService,
  ) {
    this.ctx = vms.ctx;
  }

  /** Adds a volume as a disk; on a running VM it is hot-plugged (blockdev-add, device_add). */
  async attachDisk(name: string, input: DiskInput): Promise<VmInfo> {
    const disk = parseDisk(input);
    await this.ctx.locks.with(vmLock(name), 'attach-disk', () => this.ctx.locks.with('vms', 'attach-disk', async () => {
      const rec = this.vms.record(name);
      if (rec.disks.some((d) => d.pool === disk.pool && d.volume === disk.volume)) throw errors.exists('disk', `${disk.pool}/${disk.volume} of vm ${name}`);
      this.vms.checkSharing(name, disk);
      const proc = this.vms.process(name);
      if (!proc) await this.volumes.info(disk.pool, disk.volume);
      else {
        const { qemu } = await resolveDisk(this.volumes, disk);
        const added: string[] = [];
        try {
          for (const b of diskBlockdevs(qemu)) {
            await proc.execute('blockdev-add', b);
            added.unshift(String(b['node-name']));
          }
          await proc.execute('device_add', diskDevice(qemu));
        } catch (e) {
          for (const node of added) await proc.execute('blockdev-del', { 'node-name': node }).catch(() => {});
          throw e;
        }
      }
      this.ctx.store.putVm({ ...this.vms.record(name), disks: [...rec.disks, disk] });
    }));
    this.ctx.log(`vm ${name}: disk ${disk.pool}/${disk.volume} attached`);
    return this.vms.info(name);
  }

  /** Removes a disk; from a running VM the guest lets go of it first (device_del, then blockdev-del). */
  async detachDisk(name: string, pool: string, volume: string): Promise<VmInfo> {
    await this.ctx.locks.with(vmLock(name), 'detach-disk', async () => {
      const rec = this.vms.record(name);
      const ref = `${pool}/${volume}`;
      if (!rec.disks.some((d) => d.pool === pool && d.volume === volume)) throw errors.notFound('disk', `${ref} of vm ${name}`);
      const proc = this.vms.process(name);
      if (proc) {
        await this.unplug(proc, diskDeviceId(ref));
        await this.deleteNode(proc, diskNode(ref));
        await this.deleteNode(proc, `${diskNode(ref)}-file`);
      }
      this.ctx.store.putVm({ ...this.vms.record(name), disks: rec.disks.filter((d) => !(d.pool === pool && d.volume === volume)) });
    });
    this.ctx.log(`vm ${name}: disk ${pool}/${volume} detached`);
    return this.vms.info(name);
  }

  /** Adds a port as a NIC; on a running VM it is hot-plugged (netdev_add, device_add). */
  async attachNic(name: string, input: { network: string; port: string }): Promise<VmInfo> {
    const { network, port } = parsePortRef(`${input.network}/${input.port}`);
    await this.ctx.locks.with(vmLock(name), 'attach-nic', () => this.ctx.locks.with('vms', 'attach-nic', async () => {
      const rec = this.vms.record(name);
      if (rec.nics.some((n) => n.network === network && n.port === port)) throw errors.exists('NIC', `${network}/${port} of vm ${name}`);
      const { qemu } = await resolveNic(this.ports, { network, port }, name);
      await this.ports.setUsedBy(network, port, name);
      try {
        const proc = this.vms.process(name);
        if (proc) {
          await proc.execute('netdev_add', nicNetdev(qemu));
          await proc.execute('device_add', nicDevice(qemu)).catch(async (e: unknown) => {
            await proc.execute('netdev_del', { id: nicNetdevId(qemu.ref) }).catch(() => {});
            throw e;
          });
        }
      } catch (e) {
        await this.ports.setUsedBy(network, port, null);
        throw e;
      }
      this.ctx.store.putVm({ ...this.vms.record(name), nics: [...rec.nics, { network, port }] });
    }));
    this.ctx.log(`vm ${name}: NIC ${network}/${port} attached`);
    return this.vms.info(name);
  }

  /** Removes a NIC; the port is free again. */
  async detachNic(name: string, input: { network: string; port: string }): Promise<VmInfo> {
    const { network, port } = parsePortRef(`${input.network}/${input.port}`);
    await this.ctx.locks.with(vmLock(name), 'detach-nic', async () => {
      const rec = this.vms.record(name);
      const ref = `${network}/${port}`;
      if (!rec.nics.some((n) => n.network === network && n.port === port)) throw errors.notFound('NIC', `${ref} of vm ${name}`);
      const proc = this.vms.process(name);
      if (proc) {
        await this.unplug(proc, nicDeviceId(ref));
        await proc.execute('netdev_del', { id: nicNetdevId(ref) }).catch((e: unknown) => {
          if (!(e instanceof KvmpoolError && e.details['class'] === 'DeviceNotFound')) throw e;
        });
      }
      this.ctx.store.putVm({ ...this.vms.record(name), nics: rec.nics.filter((n) => !(n.network === network && n.port === port)) });
      await this.ports.setUsedBy(network, port, null).catch(() => {});
    });
    this.ctx.log(`vm ${name}: NIC ${network}/${port} detached`);
    return this.vms.info(name);
  }

  /** Asks the guest to release a device and waits until it has (a device already gone is fine). */
  private async unplug(proc: VmProcess, id: string): Promise<void> {
    const gone = proc.waitEvent((e) => e.event === 'DEVICE_DELETED' && e.data?.['device'] === id, 'release the device', UNPLUG_TIMEOUT_MS);
    try {
      await proc.execute('device_del', { id });
    } catch (e) {
      gone.cancel();
      if (e instanceof KvmpoolError && e.details['class'] === 'DeviceNotFound') return;
      throw e;
    }
    await gone.done;
  }

  /** Removes a block node; one that is not there (an earlier detach got that far) is fine. */
  private async deleteNode(proc: VmProcess, node: string): Promise<void> {
    await proc.execute('blockdev-del', { 'node-name': node }).catch((e: unknown) => {
      if (!(e instanceof KvmpoolError && /find node/i.test(e.message))) throw e;
    });
  }

  /** qemu arguments or libvirt XML that give another tool the volume as a disk. */
  async volumeAttachInfo(pool: string, volume: string, as: AttachFormat, options: { bus?: string; readonly?: boolean } = {}): Promise<AttachInfo> {
    return diskAttachInfo((await resolveDisk(this.volumes, parseDisk({ pool, volume, ...options }))).qemu, as);
  }

  /** qemu arguments or libvirt XML that give another tool the port (a tap) as a NIC. */
  async portAttachInfo(network: string, port: string, as: AttachFormat): Promise<AttachInfo> {
    const info = await this.ports.info(network, port);
    if (info.type !== 'tap') throw errors.invalid(`${network}/${port} is a ${info.type} port: a NIC needs a tap`, { port: `${network}/${port}` });
    return nicAttachInfo({ ref: `${network}/${port}`, ifname: info.ifname, mac: info.mac }, as);
  }

}
