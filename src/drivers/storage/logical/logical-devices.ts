import { KvmpoolError, errors } from '../../../model/errors.js';
import type { OpContext } from '../../../model/op-context.js';
import { Reverter } from '../../../model/reverter.js';
import { assertDeviceEmpty, assertDeviceFree, blockDeviceSize, sameDevice } from '../../../host/blockdev.js';
import * as lvm from '../../../host/lvm.js';
import type { StorageDriver } from '../driver.js';
import { vgOf } from './logical-names.js';
import type { LogicalSource } from './logical-settings.js';

/** Smallest device made a PV: LVM metadata plus a few extents. */
const MIN_PV_SIZE = 16 * 1024 ** 2;

/** A logical pool grows by devices (new PVs of its VG) and shrinks by moving the data off one, online. */
export const logicalDevices: NonNullable<StorageDriver<LogicalSource>['devices']> = {
  async extend(def, device, ctx) {
    const vg = vgOf(def);
    await checkNewPv(device, false);
    ctx.log(`adding ${device} to volume group ${vg}`);
    await Reverter.run(ctx.log, async (r) => {
      await lvm.pvcreate([device]);
      r.add(`remove the PV label of ${device}`, () => lvm.pvremove([device]));
      await lvm.vgextend(vg, device);
    });
    return { ...def.source, devices: [...(def.source.devices ?? []), device] };
  },

  async checkShrink(def, device) {
    const vg = vgOf(def);
    // Only a device kvmpool put in (build or extend) leaves through kvmpool.
    if (!def.source.devices?.includes(device)) throw errors.invalid(`device ${device} was not added to pool '${def.name}' by kvmpool`, { device });
    const pvs = (await lvm.pvs()).filter((p) => p.vg === vg);
    const pv = pvs.find((p) => p.name === device);
    if (!pv) throw errors.invalid(`device ${device} is not part of volume group ${vg}`, { device, vg });
    if (pvs.length === 1) throw errors.invalid(`device ${device} is the last one of volume group ${vg}`, { device });
    const used = pv.size - pv.free;
    const room = pvs.filter((p) => p !== pv).reduce((n, p) => n + p.free, 0);
    if (used > room) throw new KvmpoolError('NO_SPACE', `the ${used} bytes on ${device} do not fit in the ${room} bytes free on the other devices`, { device, used, room });
  },

  async shrink(def, device, ctx) {
    const vg = vgOf(def);
    const pv = (await lvm.pvs()).find((p) => p.name === device && p.vg === vg);
    const used = pv ? pv.size - pv.free : 0;
    ctx.progress(0, used);
    ctx.log(`moving ${used} bytes off ${device}`);
    await moveExtentsOff(device, (p) => ctx.progress(Math.round((p / 100) * used), used), ctx);
    ctx.progress(used, used);
    await lvm.vgreduce(vg, device);
    await lvm.pvremove([device]);
    return { ...def.source, devices: (def.source.devices ?? []).filter((d) => d !== device) };
  },

};

/**
 * Moves every extent off `device` to the other PVs of its VG, online and atomically. The device takes
 * no new extents meanwhile, and stays so once empty (it leaves the VG next). On failure it takes
 * extents again; a cancel aborts the move of this device only: the extents stay where they were.
 */
async function moveExtentsOff(device: string, onPercent: (p: number) => void, ctx: OpContext): Promise<void> {
  await Reverter.run(ctx.log, async (r) => {
    await lvm.setAllocatable(device, false);
    r.add(`let ${device} take extents again`, () => lvm.setAllocatable(device, true));
    try {
      await lvm.pvmove(device, onPercent, ctx.signal);
    } catch (e) {
      if (!ctx.signal.aborted) throw e;
      // The move goes on without the command that waited for it: stopped before the device is allocatable again.
      r.add(`abort the move off ${device}`, () => lvm.abortPvmove(device));
      throw new KvmpoolError('CANCELLED', `moving the data off ${device} was cancelled; it stays where it was`, { device }, { cause: e });
    }
  });
}

/**
 * A device may become a PV of the pool: large enough, not a PV already (by device number, so any name
 * of it counts), not held, and empty unless handed over.
 */
export async function checkNewPv(device: string, overwrite: boolean): Promise<void> {
  const size = await blockDeviceSize(device);
  if (size < MIN_PV_SIZE) throw errors.invalid(`device ${device} is too small: ${size} bytes, at least ${MIN_PV_SIZE} needed`, { device, size });
  for (const pv of await lvm.pvs()) {
    if (await sameDevice(pv.name, device)) throw errors.inUse(`device ${device} is already a physical volume${pv.vg ? ` of volume group ${pv.vg}` : ''}`, { device, vg: pv.vg });
  }
  await assertDeviceFree(device);
  await assertDeviceEmpty(device, overwrite);
}
