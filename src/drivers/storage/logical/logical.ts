import { KvmpoolError, errors } from '../../../model/errors.js';
import { checkDevicePath } from '../../../model/paths.js';
import type { PoolStatus, ThinPoolUsage } from '../../../model/pool-types.js';
import { parseSize } from '../../../model/sizes.js';
import { wipeSignatures } from '../../../host/blockdev.js';
import * as lvm from '../../../host/lvm.js';
import { Reverter } from '../../../model/reverter.js';
import type { StorageDriver } from '../driver.js';
import { isOwn, isOwnThinPool, TAG, THIN_POOL, vgOf } from './logical-names.js';
import type { LogicalDefinition, LogicalSource, LogicalVolumeOptionsValue } from './logical-settings.js';
import * as volumes from './logical-volumes.js';
import { logicalDevices, checkNewPv } from './logical-devices.js';
import { wipeBlockVolume } from '../block/block-data.js';
import { createLvSnapshot, deleteLvSnapshot, listLvSnapshots, revertLvSnapshot } from './logical-snapshots.js';
import { absent } from '../../../model/ignore.js';
import * as shared from './logical-shared.js';
/** A thin pool this full (data or metadata, percent) degrades the pool (still usable) and warns. */
const THIN_WARN_PERCENT = 80;
/** How build records what it made: the VG (`vg:NAME`), or only a thin pool in an adopted VG. */
const BUILT_VG = 'vg:';
const BUILT_THIN = 'thinpool';

/**
 * The `logical` pool: an LVM volume group, built from devices or adopted. Volumes are LVs (linear,
 * striped, raid1, thin in the pool's thin pool). kvmpool tags what it creates and never changes or
 * activates LVs it did not; it activates and deactivates its LVs one by one, never the whole VG.
 */
export const logicalDriver: StorageDriver<LogicalSource, LogicalVolumeOptionsValue> = {
  listsWhenStopped: true,

  async validate(def) {
    const { devices, vg, thinAutoExtend } = def.source;
    const thinPool = def.source.thinPool === undefined ? undefined : parseSize(def.source.thinPool);
    const name = lvm.checkLvmName('volume group', vg ?? def.name);
    const checked = (devices ?? []).map(checkDevicePath);
    if (new Set(checked).size !== checked.length) throw errors.invalid('a device is listed twice');
    const target = `/dev/${name}`;
    if (def.target !== '' && def.target !== target) throw errors.invalid(`the target of a logical pool is its volume group's directory ${target}`, { target: def.target });
    if (thinAutoExtend && thinPool === undefined) throw errors.invalid('--thin-auto-extend needs a thin pool (--thin-pool SIZE)');
    if (def.source.shared && thinPool !== undefined) throw errors.invalid(shared.SHARED_THIN);
    return {
      ...def,
      target,
      source: {
        ...(checked.length > 0 ? { devices: checked } : {}),
        vg: name,
        ...(thinPool !== undefined ? { thinPool } : {}),
        ...(thinAutoExtend ? { thinAutoExtend: true } : {}),
        ...(def.source.shared ? { shared: true } : {}),
      },
    };
  },

  resources: (def) => ({ devices: def.source.devices ?? [], names: [`volume group:${vgOf(def)}`] }),

  async build(def, ctx, options = {}) {
    const vg = vgOf(def);
    const devices = def.source.devices ?? [];
    const existing = await lvm.vg(vg);
    if (devices.length === 0) {
      // Adopting a VG the user names: nothing of it is changed, only a thin pool may be added.
      if (!existing) throw new KvmpoolError('NOT_FOUND', `volume group ${vg} does not exist (give --source devices to build one)`, { vg });
      checkSharing(def, existing);
      return (await Reverter.run(ctx.log, (r) => ensureThinPool(def, r))) ? [BUILT_THIN] : [];
    }
    if (existing) {
      if (options.built?.includes(`${BUILT_VG}${vg}`) && existing.tags.includes(TAG)) return [];
      throw errors.exists('volume group', vg);
    }
    for (const device of devices) await checkNewPv(device, options.overwrite === true);
    if (options.overwrite) for (const device of devices) await wipeSignatures(device);
    ctx.log(`creating volume group ${vg} on ${devices.join(', ')}`);
    if (shared.isShared(def)) {
      // vgcreate makes the PVs itself (a PV of its own first would need the lockspace that does not exist yet), and joins the new lockspace.
      await shared.requireLockd();
      await lvm.vgcreate(vg, devices, TAG, true);
      return [`${BUILT_VG}${vg}`];
    }
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
    // Without lvmlockd a shared VG is not even listed.
    if (shared.isShared(def)) await shared.requireLockd();
    const info = await lvm.vg(vg);
    if (!info) throw new KvmpoolError('POOL_NOT_BUILT', `volume group ${vg} does not exist (run 'pool build')`, { pool: def.name, vg });
    checkSharing(def, info);
    if (shared.isShared(def)) {
      // Its LVs stay inactive until they are used here. An upload swap cut short is not repaired
      // here: another host may be in the middle of its own.
      await shared.joinLockspace(def);
      return;
    }
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
    if (shared.isShared(def)) await lvm.lockStop(vg);
  },

  async delete(def, created, ctx) {
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
      if (shared.isShared(def)) {
        // LVM removes a shared VG from inside its lockspace (and refuses while another host has it started: then this host leaves it again).
        await Reverter.run(ctx.log, async (r) => {
          await shared.joinLockspace(def);
          r.add(`leave the lockspace of ${vg}`, () => lvm.lockStop(vg));
          await lvm.vgremove(vg);
        });
      } else await lvm.vgremove(vg);
      if (devices.length > 0) await lvm.pvremove(devices, shared.isShared(def));
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
    if (!def.source.thinAutoExtend || free < 4 * 1024 ** 2) return { thin, warning };
    // A fifth more each time, at least 64 MiB, at most what the VG has free (LVM grows metadata along).
    const by = Math.min(Math.max(Math.round(thin.size / 5), 64 * 1024 ** 2), free);
    await lvm.extendLvBy(vg, THIN_POOL, by);
    return { thin, warning, extended: by };
  },

  async status(def, detail = true): Promise<PoolStatus> {
    const vg = vgOf(def);
    const empty = { capacity: 0, allocation: 0, available: 0 };
    const info = await lvm.vg(vg).catch(absent);
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
  volumeUsers: (def, vol) => volumes.lvVolumeUsers(def, vol),
  claim: async (def, vol) => shared.isShared(def) && shared.claimLv(def, vol.name),
  release: async (def, vol) => {
    if (shared.isShared(def)) await shared.releaseLv(def, vol.name);
  },
  // A thin LV's discarded blocks go back to its pool.
  access: (_def, vol) => ({ access: { kind: 'block', path: vol.path }, directIO: true, discard: vol.kind === 'thin' }),
  // LVM creates and renames in one step: nothing partial is left to repair.
  volumes: {
    formats: ['raw'],
    create: (def, spec, ctx) => volumes.createLvVolume(def, spec, ctx),
    delete: (def, vol) => volumes.deleteLvVolume(def, vol),
  },
  resize: { resize: (def, vol, capacity, shrink) => volumes.resizeLvVolume(def, vol, capacity, shrink) },
  rename: { rename: (def, vol, newName) => volumes.renameLvVolume(def, vol, newName) },
  snapshots: {
    list: (def, vol) => listLvSnapshots(def, vol),
    create: async (def, vol, name, ctx, options) => {
      if (shared.isShared(def)) throw errors.notSupported('snapshots of volumes in a shared pool are not there yet (the snapshot and its origin would have to be active on the same host)');
      return createLvSnapshot(def, vol, name, options.size, ctx);
    },
    revert: async (def, vol, name, ctx) => {
      await revertLvSnapshot(def, vol, name, ctx);
      return volumes.readLvVolume(def, vol.name);
    },
    delete: (def, vol, name) => deleteLvSnapshot(def, vol, name),
  },
  clones: {
    // The method keeps the name users know it by (its feature is clone-reflink): no data is copied.
    reflink: {
      summary: 'a thin snapshot of a thin volume that is a volume of its own: instant, blocks shared until written',
      format: 'source',
      clone: (def, source, target) => volumes.cloneLvVolume(def, source, target),
    },
  },
  copy: { copyInto: (def, source, target, _traits, ctx) => volumes.copyIntoLv(def, source, target, ctx) },
  transfers: {
    dataExtents: async (_def, vol) => [{ start: 0, length: vol.capacity, data: true }],
    stage: (def, vol) => volumes.lvUploadStage(def, vol),
    commit: (def, vol, stage, end, grow, ctx) => volumes.commitLvUpload(def, vol, stage, end, grow, ctx),
    discard: (def, vol) => volumes.discardLvUpload(def, vol),
  },
  wipe: {
    wipe: async (def, vol, algorithm, verify, ctx) => {
      // A thin LV's discarded blocks go back to its pool and read as zeros.
      await wipeBlockVolume(vol, algorithm, verify, vol.kind === 'thin', ctx);
      return volumes.readLvVolume(def, vol.name);
    },
  },
  devices: logicalDevices,
};

/** INVALID_ARGUMENT when the pool's sharing is not the VG's (a shared VG needs lvmlockd on every host that uses it). */
function checkSharing(def: LogicalDefinition, vg: lvm.VgInfo): void {
  if (vg.shared === shared.isShared(def)) return;
  throw errors.invalid(vg.shared ? `volume group ${vg.name} is shared by hosts (lvmlockd): define the pool with --shared` : `volume group ${vg.name} is not shared: a --shared pool needs one made shared (vgcreate --shared), or build one on devices`, { vg: vg.name });
}

/** Makes the thin pool the definition asks for, unless it exists; true when it made one (its undo is in `r`). */
async function ensureThinPool(def: LogicalDefinition, r: Reverter): Promise<boolean> {
  const size = def.source.thinPool === undefined ? undefined : parseSize(def.source.thinPool);
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

/** The thin pool's usage, and over-commit: the thin volumes' sizes over the pool's. */
function thinUsage(all: lvm.LvInfo[]): ThinPoolUsage | undefined {
  const pool = all.find(isOwnThinPool);
  if (!pool) return undefined;
  const committed = all.filter((lv) => lv.pool === THIN_POOL && lv.segtype === 'thin').reduce((n, lv) => n + lv.size, 0);
  return { name: pool.name, size: pool.size, dataPercent: pool.dataPercent ?? 0, metadataPercent: pool.metadataPercent ?? 0, overcommit: pool.size > 0 ? committed / pool.size : 0 };
}

