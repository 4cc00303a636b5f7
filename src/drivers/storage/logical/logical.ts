import { KvmpoolError, errors } from '../../../model/errors.js';
import { checkDevicePath } from '../../../model/paths.js';
import type { PoolDefinition, PoolStatus, ThinPoolUsage } from '../../../model/types.js';
import type { Capabilities } from '../../../model/capabilities.js';
import { assertDeviceEmpty, assertDeviceFree, blockDeviceSize, sameDevice, wipeSignatures } from '../../../host/blockdev.js';
import * as lvm from '../../../host/lvm.js';
import { Reverter } from '../../../model/reverter.js';
import type { OpContext, StorageDriver } from '../driver.js';
import { isOwn, isOwnThinPool, TAG, THIN_POOL, vgOf } from './logical-names.js';
import * as volumes from './logical-volumes.js';
import { wipeBlockVolume } from '../block/block-data.js';
import { createLvSnapshot, deleteLvSnapshot, listLvSnapshots, revertLvSnapshot } from './logical-snapshots.js';

/** Smallest device made a PV: LVM metadata plus a few extents. */
const MIN_PV_SIZE = 16 * 1024 ** 2;
/** A thin pool this full (data or metadata, percent) degrades the pool (still usable) and warns. */
const THIN_WARN_PERCENT = 80;
/** How build records what it made: the VG (`vg:NAME`), or only a thin pool in an adopted VG. */
const BUILT_VG = 'vg:';
const BUILT_THIN = 'thinpool';

const LV_FEATURES = ['delete', 'resize', 'shrink', 'rename', 'clone', 'snapshot', 'wipe', 'upload', 'download'] as const;

/** Volumes are raw LVs; thin ones also clone instantly (a thin snapshot shares their blocks). */
const LOGICAL_CAPABILITIES: Capabilities = {
  base: { raw: LV_FEATURES },
  reflink: {},
  byKind: { thin: ['clone-reflink'] },
};

/**
 * The `logical` pool: an LVM volume group, built from devices or adopted. Volumes are LVs (linear,
 * striped, raid1, thin in the pool's thin pool). kvmpool tags what it creates and never changes or
 * activates LVs it did not; it activates and deactivates its LVs one by one, never the whole VG.
 */
export const logicalDriver: StorageDriver = {
  type: 'logical',
  capabilities: LOGICAL_CAPABILITIES,
  createFormats: ['raw'],
  listsWhenStopped: true,

  async validate(def) {
    const { devices, vg, thinPool, thinAutoExtend, ...other } = def.source ?? {};
    if (Object.keys(other).length > 0) throw errors.invalid(`a logical pool takes devices, a volume group and a thin pool size, not ${Object.keys(other).join(', ')}`);
    const name = lvm.checkLvmName('volume group', vg ?? def.name);
    const checked = (devices ?? []).map(checkDevicePath);
    if (new Set(checked).size !== checked.length) throw errors.invalid('a device is listed twice');
    const target = `/dev/${name}`;
    if (def.target !== '' && def.target !== target) throw errors.invalid(`the target of a logical pool is its volume group's directory ${target}`, { target: def.target });
    if (thinAutoExtend && thinPool === undefined) throw errors.invalid('--thin-auto-extend needs a thin pool (--thin-pool SIZE)');
    return {
      ...def,
      target,
      source: { ...(checked.length > 0 ? { devices: checked } : {}), vg: name, ...(thinPool !== undefined ? { thinPool } : {}), ...(thinAutoExtend ? { thinAutoExtend: true } : {}) },
    };
  },

  async build(def, ctx, options = {}) {
    const vg = vgOf(def);
    const devices = def.source?.devices ?? [];
    const existing = await lvm.vg(vg);
    if (devices.length === 0) {
      // Adopting a VG the user names: nothing of it is changed, only a thin pool may be added.
      if (!existing) throw new KvmpoolError('NOT_FOUND', `volume group ${vg} does not exist (give --source devices to build one)`, { vg });
      return (await Reverter.run(ctx.log, (r) => ensureThinPool(def, r))) ? [BUILT_THIN] : [];
    }
    if (existing) {
      if (options.built?.includes(`${BUILT_VG}${vg}`) && existing.tags.includes(TAG)) return [];
      throw errors.exists('volume group', vg);
    }
    for (const device of devices) await checkNewPv(device, options.overwrite === true);
    if (options.overwrite) for (const device of devices) await wipeSignatures(device);
    ctx.log(`creating volume group ${vg} on ${devices.join(', ')}`);
    // On failure no PV label written here is left: one PV at a time, each undone on its own.
    await Reverter.run(ctx.log, async (r) => {
      for (const device of devices) {
        await lvm.pvcreate([device]);
        r.add(`remove the PV label of ${device}`, () => lvm.pvremove([device]));
      }
      await lvm.vgcreate(vg, devices, TAG);
      r.add(`remove volume group ${vg}`, () => lvm.vgremove(vg));
      await ensureThinPool(def, r);
    });
    return [`${BUILT_VG}${vg}`];
  },

  async start(def) {
    const vg = vgOf(def);
    if (!(await lvm.vg(vg))) throw new KvmpoolError('POOL_NOT_BUILT', `volume group ${vg} does not exist (run 'pool build')`, { pool: def.name, vg });
    // Only kvmpool's LVs, one by one: the thin pool first (thin volumes need it).
    const all = await lvm.lvs(vg);
    const own = all.filter((lv) => isOwn(lv) && !lv.active).sort((a, b) => Number(b.segtype === 'thin-pool') - Number(a.segtype === 'thin-pool'));
    for (const lv of own) await lvm.activateLv(vg, lv.name, true);
    // Activation changes no names or tags: the same listing serves.
    await volumes.repairUploadSwaps(def, all);
  },

  async stop(def) {
    const vg = vgOf(def);
    if (!(await lvm.vg(vg))) return;
    const own = (await lvm.lvs(vg)).filter((lv) => isOwn(lv) && lv.active).sort((a, b) => Number(a.segtype === 'thin-pool') - Number(b.segtype === 'thin-pool'));
    for (const lv of own) {
      await lvm.activateLv(vg, lv.name, false).catch((e: unknown) => {
        if (lv.open) throw errors.inUse(`LV ${vg}/${lv.name} is open: it stays active`, { lv: lv.name });
        throw e;
      });
    }
  },

  async delete(def, created) {
    const vg = vgOf(def);
    const info = await lvm.vg(vg);
    if (!info) return;
    const all = await lvm.lvs(vg);
    const ownVg = created.includes(`${BUILT_VG}${vg}`);
    const others = all.filter((lv) => !(lv.name === THIN_POOL && lv.tags.includes(TAG)));
    if (ownVg && others.length > 0) {
      throw new KvmpoolError('POOL_NOT_EMPTY', `cannot delete pool '${def.name}': volume group ${vg} still holds ${others.map((l) => l.name).join(', ')}`, { pool: def.name });
    }
    const thinPool = all.find((lv) => lv.name === THIN_POOL && lv.tags.includes(TAG));
    if (thinPool && (ownVg || created.includes(BUILT_THIN))) {
      if (all.some((lv) => lv.pool === THIN_POOL)) throw new KvmpoolError('POOL_NOT_EMPTY', `cannot delete pool '${def.name}': its thin pool still holds volumes`, { pool: def.name });
      await lvm.removeLv(vg, THIN_POOL);
    }
    if (ownVg) {
      const devices = (await lvm.pvs()).filter((pv) => pv.vg === vg).map((pv) => pv.name);
      await lvm.vgremove(vg);
      if (devices.length > 0) await lvm.pvremove(devices);
    }
  },

  async maintain(def) {
    const vg = vgOf(def);
    const thin = thinUsage(await lvm.lvs(vg));
    if (!thin) return undefined;
    const fill = Math.max(thin.dataPercent, thin.metadataPercent);
    if (fill < THIN_WARN_PERCENT) return { thin };
    const warning = `thin pool of ${def.name} is ${fill}% full (data ${thin.dataPercent}%, metadata ${thin.metadataPercent}%)`;
    const free = (await lvm.vg(vg))?.free ?? 0;
    if (!def.source?.thinAutoExtend || free < 4 * 1024 ** 2) return { thin, warning };
    // A fifth more each time, at least 64 MiB, at most what the VG has free (LVM grows metadata along).
    const by = Math.min(Math.max(Math.round(thin.size / 5), 64 * 1024 ** 2), free);
    await lvm.extendLvBy(vg, THIN_POOL, by);
    return { thin, warning, extended: by };
  },

  async extendPool(def, device, ctx) {
    const vg = vgOf(def);
    await checkNewPv(device, false);
    ctx.log(`adding ${device} to volume group ${vg}`);
    await Reverter.run(ctx.log, async (r) => {
      await lvm.pvcreate([device]);
      r.add(`remove the PV label of ${device}`, () => lvm.pvremove([device]));
      await lvm.vgextend(vg, device);
    });
  },

  async checkShrink(def, device) {
    const vg = vgOf(def);
    // Only a device kvmpool put in (build or extend) leaves through kvmpool.
    if (!def.source?.devices?.includes(device)) throw errors.invalid(`device ${device} was not added to pool '${def.name}' by kvmpool`, { device });
    const pvs = (await lvm.pvs()).filter((p) => p.vg === vg);
    const pv = pvs.find((p) => p.name === device);
    if (!pv) throw errors.invalid(`device ${device} is not part of volume group ${vg}`, { device, vg });
    if (pvs.length === 1) throw errors.invalid(`device ${device} is the last one of volume group ${vg}`, { device });
    const used = pv.size - pv.free;
    const room = pvs.filter((p) => p !== pv).reduce((n, p) => n + p.free, 0);
    if (used > room) throw new KvmpoolError('NO_SPACE', `the ${used} bytes on ${device} do not fit in the ${room} bytes free on the other devices`, { device, used, room });
  },

  async shrinkPool(def, device, ctx) {
    const vg = vgOf(def);
    const pv = (await lvm.pvs()).find((p) => p.name === device && p.vg === vg);
    const used = pv ? pv.size - pv.free : 0;
    ctx.progress(0, used);
    ctx.log(`moving ${used} bytes off ${device}`);
    await moveExtentsOff(device, (p) => ctx.progress(Math.round((p / 100) * used), used), ctx);
    ctx.progress(used, used);
    await lvm.vgreduce(vg, device);
    await lvm.pvremove([device]);
  },

  async status(def, detail = true): Promise<PoolStatus> {
    const vg = vgOf(def);
    const empty = { capacity: 0, allocation: 0, available: 0 };
    const info = await lvm.vg(vg).catch(() => undefined);
    if (!info) return { state: 'degraded', reason: `volume group ${vg} is missing`, ...empty };
    const usage = { capacity: info.size, allocation: info.size - info.free, available: info.free };
    if (info.partial) return { state: 'degraded', reason: `volume group ${vg} is missing one of its devices`, ...usage };
    if (!detail) return { state: 'running', ...usage };
    const devices = (await lvm.pvs()).filter((pv) => pv.vg === vg).map((pv) => ({ path: pv.name, size: pv.size, free: pv.free }));
    const thin = thinUsage(await lvm.lvs(vg));
    const status: PoolStatus = { state: 'running', ...usage, devices, ...(thin ? { thin } : {}) };
    if (thin && Math.max(thin.dataPercent, thin.metadataPercent) >= THIN_WARN_PERCENT) {
      return { ...status, state: 'degraded', usable: true, reason: `thin pool is ${Math.max(thin.dataPercent, thin.metadataPercent)}% full (data ${thin.dataPercent}%, metadata ${thin.metadataPercent}%)` };
    }
    return status;
  },

  async probe() {
    return { reflink: false, directIO: true };
  },

  listVolumes: (def) => volumes.listLvVolumes(def),
  volumeInfo: (def, _known, name) => volumes.readLvVolume(def, name),
  createVolume: (def, spec, ctx) => volumes.createLvVolume(def, spec, ctx),
  deleteVolume: (def, vol) => volumes.deleteLvVolume(def, vol),
  resizeVolume: (def, vol, capacity, shrink) => volumes.resizeLvVolume(def, vol, capacity, shrink),
  renameVolume: (def, vol, newName) => volumes.renameLvVolume(def, vol, newName),
  volumeUsers: (def, vol) => volumes.lvVolumeUsers(def, vol),
  // LVM creates and renames in one step: nothing partial is left to repair.
  discardPartial: async () => {},
  finishRename: async () => {},
  cloneVolume: async (def, source, target, method) => {
    if (method === 'linked') throw errors.notSupported('linked clones are qcow2 overlays; volumes of a logical pool are raw LVs');
    return volumes.cloneLvVolume(def, source, target);
  },
  copyVolume: (def, source, target, _traits, ctx) => volumes.copyIntoLv(def, source, target, ctx),
  listSnapshots: (def, vol) => listLvSnapshots(def, vol),
  createSnapshot: (def, vol, name, ctx, options) => createLvSnapshot(def, vol, name, options?.size, ctx),
  revertSnapshot: async (def, vol, name, ctx) => {
    await revertLvSnapshot(def, vol, name, ctx);
    return volumes.readLvVolume(def, vol.name);
  },
  deleteSnapshot: (def, vol, name) => deleteLvSnapshot(def, vol, name),
  dataExtents: async (_def, vol) => [{ start: 0, length: vol.capacity, data: true }],
  uploadStage: (def, vol) => volumes.lvUploadStage(def, vol),
  commitUpload: (def, vol, staged, end, grow) => volumes.commitLvUpload(def, vol, staged, end, grow),
  discardUpload: (def, vol) => volumes.discardLvUpload(def, vol),
  wipeVolume: async (def, vol, algorithm, verify, ctx) => {
    // A thin LV's discarded blocks go back to its pool and read as zeros.
    await wipeBlockVolume(vol, algorithm, verify, vol.kind === 'thin', ctx);
    return volumes.readLvVolume(def, vol.name);
  },
};

/** Makes the thin pool the definition asks for, unless it exists; true when it made one (its undo is in `r`). */
async function ensureThinPool(def: PoolDefinition, r: Reverter): Promise<boolean> {
  const size = def.source?.thinPool;
  if (size === undefined) return false;
  const vg = vgOf(def);
  const existing = (await lvm.lvs(vg)).find((lv) => lv.name === THIN_POOL);
  if (existing && !existing.tags.includes(TAG)) throw errors.exists('LV', `${vg}/${THIN_POOL} (not kvmpool's)`);
  if (existing) return false;
  await lvm.lvcreate(vg, THIN_POOL, size, { kind: 'thin-pool' }, TAG);
  r.add(`remove thin pool ${vg}/${THIN_POOL}`, () => lvm.removeLv(vg, THIN_POOL));
  // A full thin pool fails the write at once (ENOSPC) instead of queueing it for a minute.
  await lvm.setErrorWhenFull(vg, THIN_POOL);
  return true;
}

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

/** The thin pool's usage, and over-commit: the thin volumes' sizes over the pool's. */
function thinUsage(all: lvm.LvInfo[]): ThinPoolUsage | undefined {
  const pool = all.find(isOwnThinPool);
  if (!pool) return undefined;
  const committed = all.filter((lv) => lv.pool === THIN_POOL && lv.segtype === 'thin').reduce((n, lv) => n + lv.size, 0);
  return { name: pool.name, size: pool.size, dataPercent: pool.dataPercent ?? 0, metadataPercent: pool.metadataPercent ?? 0, overcommit: pool.size > 0 ? committed / pool.size : 0 };
}

/**
 * A device may become a PV of the pool: large enough, not a PV already (by device number, so any name
 * of it counts), not held, and empty unless handed over.
 */
async function checkNewPv(device: string, overwrite: boolean): Promise<void> {
  const size = await blockDeviceSize(device);
  if (size < MIN_PV_SIZE) throw errors.invalid(`device ${device} is too small: ${size} bytes, at least ${MIN_PV_SIZE} needed`, { device, size });
  for (const pv of await lvm.pvs()) {
    if (await sameDevice(pv.name, device)) throw errors.inUse(`device ${device} is already a physical volume${pv.vg ? ` of volume group ${pv.vg}` : ''}`, { device, vg: pv.vg });
  }
  await assertDeviceFree(device);
  await assertDeviceEmpty(device, overwrite);
}
