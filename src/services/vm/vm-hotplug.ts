import { KvmpoolError, errors } from '../../model/errors.js';
import { parsePortRef, volumeRef, type VolumeRef } from '../../model/names.js';
import { Reverter } from '../../model/reverter.js';
import { diskBlockdevs, diskDevice, diskDeviceId, diskNode, diskSecrets, nicDevice, nicDeviceId, nicNetdev, nicNetdevId } from '../../host/qemu-system.js';
import type { ServiceContext } from '../context.js';
import { operate } from '../operation.js';
import type { VolumeService } from '../storage/volumes.js';
import type { PortService } from '../network/ports.js';
import type { VmInfo } from '../../model/vm-types.js';
import { resolveDisk, resolveNic } from './vm-devices.js';
import { diskAttachInfo, nicAttachInfo, type AttachFormat, type AttachInfo } from './attach-info.js';
import { parseDisk, type DiskInput } from './vm-definition.js';
import type { VmProcess } from './vm-process.js';
import { vmLock, type VmService } from './vms.js';

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


  /** Adds a volume as a disk; on a running VM it is hot-plugged (object-add for its secrets, blockdev-add, device_add). */
  async attachDisk(name: string, input: DiskInput): Promise<VmInfo> {
    const disk = parseDisk(input);
    await operate(this.ctx, 'vm.attach-disk', [vmLock(name), 'vms'], async () => {
      const rec = this.vms.record(name);
      if (rec.disks.some((d) => d.pool === disk.pool && d.volume === disk.volume)) throw errors.exists('disk', `${disk.pool}/${disk.volume} of vm ${name}`);
      this.vms.checkSharing(name, disk);
      const proc = this.vms.tracker.get(name);
      if (!proc) await this.volumes.info(volumeRef(disk.pool, disk.volume));
      else {
        const { qemu } = await resolveDisk(this.volumes, disk);
        await Reverter.run(this.ctx.log, async (r) => {
          r.add(`give up ${disk.pool}/${disk.volume}`, () => this.volumes.close(volumeRef(disk.pool, disk.volume)));
          for (const s of diskSecrets(qemu)) {
            await proc.execute('object-add', { 'qom-type': 'secret', id: s.id, file: s.file });
            r.add(`delete secret object ${s.id}`, () => proc.execute('object-del', { id: s.id }));
          }
          for (const b of diskBlockdevs(qemu)) {
            await proc.execute('blockdev-add', b);
            r.add(`delete block node ${String(b['node-name'])}`, () => proc.execute('blockdev-del', { 'node-name': b['node-name'] }));
          }
          await proc.execute('device_add', diskDevice(qemu));
        });
      }
      this.ctx.store.vms.put({ ...this.vms.record(name), disks: [...rec.disks, disk] });
    });
    this.ctx.log(`vm ${name}: disk ${disk.pool}/${disk.volume} attached`);
    return this.vms.info(name);
  }

  /** Removes a disk; from a running VM the guest lets go of it first (device_del, then blockdev-del). */
  async detachDisk(name: string, pool: string, volume: string): Promise<VmInfo> {
    await operate(this.ctx, 'vm.detach-disk', [vmLock(name)], async () => {
      const rec = this.vms.record(name);
      const ref = `${pool}/${volume}`;
      if (!rec.disks.some((d) => d.pool === pool && d.volume === volume)) throw errors.notFound('disk', `${ref} of vm ${name}`);
      const proc = this.vms.tracker.get(name);
      if (proc) {
        await this.unplug(proc, diskDeviceId(ref));
        await this.deleteNode(proc, diskNode(ref));
        await this.deleteNode(proc, `${diskNode(ref)}-file`);
        // Secret objects of a protocol disk (none for files and devices).
        for (const id of [`${diskNode(ref)}-key`, `${diskNode(ref)}-password`]) {
          await proc.execute('object-del', { id }).catch((e: unknown) => {
            if (!(e instanceof KvmpoolError && /not found/i.test(e.message))) throw e;
          });
        }
        // On storage several hosts share, another host may use it now.
        await this.volumes.close(volumeRef(pool, volume)).catch((e: unknown) => this.ctx.log(`volume ${ref}: ${e instanceof Error ? e.message : String(e)}`));
      }
      this.ctx.store.vms.put({ ...this.vms.record(name), disks: rec.disks.filter((d) => !(d.pool === pool && d.volume === volume)) });
    });
    this.ctx.log(`vm ${name}: disk ${pool}/${volume} detached`);
    return this.vms.info(name);
  }

  /** Adds a port as a NIC; on a running VM it is hot-plugged (netdev_add, device_add). */
  async attachNic(name: string, input: { network: string; port: string }): Promise<VmInfo> {
    const { network, port } = parsePortRef(`${input.network}/${input.port}`);
    await operate(this.ctx, 'vm.attach-nic', [vmLock(name), 'vms'], async () => {
      const rec = this.vms.record(name);
      if (rec.nics.some((n) => n.network === network && n.port === port)) throw errors.exists('NIC', `${network}/${port} of vm ${name}`);
      const { qemu } = await resolveNic(this.ports, { network, port }, name);
      await Reverter.run(this.ctx.log, async (r) => {
        await this.ports.setUsedBy(network, port, name);
        r.add(`give port ${network}/${port} back`, () => this.ports.setUsedBy(network, port, null));
        const proc = this.vms.tracker.get(name);
        if (proc) {
          await proc.execute('netdev_add', nicNetdev(qemu));
          r.add(`delete netdev of ${qemu.ref}`, () => proc.execute('netdev_del', { id: nicNetdevId(qemu.ref) }));
          await proc.execute('device_add', nicDevice(qemu));
        }
      });
      this.ctx.store.vms.put({ ...this.vms.record(name), nics: [...rec.nics, { network, port }] });
    });
    this.ctx.log(`vm ${name}: NIC ${network}/${port} attached`);
    return this.vms.info(name);
  }

  /** Removes a NIC; the port is free again. */
  async detachNic(name: string, input: { network: string; port: string }): Promise<VmInfo> {
    const { network, port } = parsePortRef(`${input.network}/${input.port}`);
    await operate(this.ctx, 'vm.detach-nic', [vmLock(name)], async () => {
      const rec = this.vms.record(name);
      const ref = `${network}/${port}`;
      if (!rec.nics.some((n) => n.network === network && n.port === port)) throw errors.notFound('NIC', `${ref} of vm ${name}`);
      const proc = this.vms.tracker.get(name);
      if (proc) {
        await this.unplug(proc, nicDeviceId(ref));
        await proc.execute('netdev_del', { id: nicNetdevId(ref) }).catch((e: unknown) => {
          if (!(e instanceof KvmpoolError && e.details['class'] === 'DeviceNotFound')) throw e;
        });
      }
      this.ctx.store.vms.put({ ...this.vms.record(name), nics: rec.nics.filter((n) => !(n.network === network && n.port === port)) });
      await this.ports.setUsedBy(network, port, null).catch((e: unknown) => this.ctx.log(`vm ${name}: port ${ref}: ${e instanceof Error ? e.message : String(e)}`));
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
  async volumeAttachInfo(ref: VolumeRef, as: AttachFormat, options: { bus?: string; readonly?: boolean } = {}): Promise<AttachInfo> {
    // Not made usable here: the other tool opens it when it can (a shared pool's LV may be active on another host).
    return diskAttachInfo((await resolveDisk(this.volumes, parseDisk({ ...ref, ...options }), false)).qemu, as);
  }

  /** qemu arguments or libvirt XML that give another tool the port (a tap) as a NIC. */
  async portAttachInfo(network: string, port: string, as: AttachFormat): Promise<AttachInfo> {
    const info = await this.ports.info(network, port);
    if (info.type !== 'tap') throw errors.invalid(`${network}/${port} is a ${info.type} port: a NIC needs a tap`, { port: `${network}/${port}` });
    return nicAttachInfo({ ref: `${network}/${port}`, ifname: info.ifname, mac: info.mac }, as);
  }

}
