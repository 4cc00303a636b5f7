import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { KvmpoolError, errors } from '../../model/errors.js';
import type { VmDisk, VmNic } from '../../model/vm-types.js';
import type { VolumeInfo } from '../../model/types.js';
import type { PortInfo } from '../../model/network-types.js';
import type { QemuDisk, QemuNic } from '../../host/qemu-system.js';
import type { VolumeService } from '../storage/volumes.js';
import type { PortService } from '../network/ports.js';

/** Turns a VM's disks and NICs into what qemu opens, checking each is there and fit to use. */

/** A volume as a disk: it must exist in a running pool and be raw or qcow2 with its backing chain inside the pool. */
export async function resolveDisk(volumes: VolumeService, d: VmDisk): Promise<{ qemu: QemuDisk; volume: VolumeInfo }> {
  const volume = await volumes.info(d.pool, d.volume);
  const ref = `${d.pool}/${d.volume}`;
  if (volume.format !== 'raw' && volume.format !== 'qcow2') {
    throw errors.notSupported(`${ref} is ${volume.format}: VMs use raw and qcow2 volumes`, { volume: ref, format: volume.format });
  }
  if (volume.backingOutsidePool) throw errors.notSupported(`${ref} has a backing file outside its pool: it is never opened`, { volume: ref });
  if (volume.busy) throw errors.inUse(`${ref} is busy: ${volume.busy} in progress`, { volume: ref, operation: volume.busy });
  if (!d.readonly) {
    const dependents = await volumes.dependents(d.pool, volume);
    if (dependents.length > 0) throw errors.inUse(`${ref} is the backing file of ${dependents.join(', ')}: a VM may only read it (readonly)`, { volume: ref, users: dependents });
  }
  const block = (await stat(volume.path)).isBlockDevice();
  return {
    volume,
    qemu: {
      ref,
      path: volume.path,
      format: volume.format,
      block,
      bus: d.bus,
      readonly: d.readonly,
      direct: await takesDirectIo(volume.path, d.readonly),
      // Files are sparse and thin LVs give space back: both gain from the guest's discards.
      discard: !block || volume.kind === 'thin',
    },
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

/** Whether the storage under `path` takes O_DIRECT (tmpfs and some FUSE file systems do not). */
async function takesDirectIo(path: string, readonly: boolean): Promise<boolean> {
  try {
    const fh = await open(path, (readonly ? constants.O_RDONLY : constants.O_RDWR) | constants.O_DIRECT);
    await fh.close();
    return true;
  } catch {
    return false;
  }
}
