import { KvmpoolError, errors } from '../../model/errors.js';
import { volumeRef } from '../../model/names.js';
import type { VmDisk, VmNic } from '../../model/vm-types.js';
import type { VolumeInfo } from '../../model/volume-types.js';
import type { PortInfo } from '../../model/network-types.js';
import type { QemuDisk, QemuNic } from '../../host/qemu-system.js';
import type { VolumeService } from '../storage/volumes.js';
import type { PortService } from '../network/ports.js';

/** Turns a VM's disks and NICs into what qemu opens, checking each is there and fit to use. */

/**
 * A volume as a disk: it must exist in a running pool, be raw or qcow2 with its backing chain inside
 * the pool, and not back another volume unless read-only. Its driver says how qemu reaches it. With
 * `use` it is made usable here for the VM (see VolumeService.use).
 */
export async function resolveDisk(volumes: VolumeService, d: VmDisk, use = true): Promise<{ qemu: QemuDisk; volume: VolumeInfo }> {
  const ref = volumeRef(d.pool, d.volume);
  const { volume, access } = await volumes.open(ref);
  const name = `${d.pool}/${d.volume}`;
  if (volume.format !== 'raw' && volume.format !== 'qcow2') {
    throw errors.notSupported(`${name} is ${volume.format}: VMs use raw and qcow2 volumes`, { volume: name, format: volume.format });
  }
  if (volume.backingOutsidePool) throw errors.notSupported(`${name} has a backing file outside its pool: it is never opened`, { volume: name });
  if (volume.busy) throw errors.inUse(`${name} is busy: ${volume.busy} in progress`, { volume: name, operation: volume.busy });
  if (!d.readonly) {
    const dependents = volumes.dependents(ref);
    if (dependents.length > 0) throw errors.inUse(`${name} is the backing file of ${dependents.join(', ')}: a VM may only read it (readonly)`, { volume: name, users: dependents });
  }
  // Last: nothing after it can fail (the caller ends the use with `volumes.close` when the VM lets go).
  if (use) await volumes.use(ref, volume);
  return {
    volume,
    qemu: { ref: name, access: access.access, format: volume.format, bus: d.bus, readonly: d.readonly, direct: access.directIO, discard: access.discard },
  };
}

/** A port as a NIC: a tap of a running network, given to this VM. */
export async function resolveNic(ports: PortService, n: VmNic, vm: string): Promise<{ qemu: QemuNic; port: PortInfo }> {
  const port = await ports.info(n.network, n.port);
  const ref = `${n.network}/${n.port}`;
  if (port.type !== 'tap') throw errors.invalid(`${ref} is a ${port.type} port: a VM's NIC needs a tap`, { port: ref });
  if (port.usedBy && port.usedBy !== vm) throw errors.inUse(`port ${ref} is used by ${port.usedBy}`, { port: ref, usedBy: port.usedBy });
  if (port.state === 'missing') throw new KvmpoolError('NETWORK_NOT_ACTIVE', `port ${ref} has no interface: start network '${n.network}'`, { port: ref });
  return { port, qemu: { ref, ifname: port.ifname, mac: port.mac } };
}
