import { KvmpoolError, errors } from '../../../model/errors.js';
import type { PoolStatus } from '../../../model/pool-types.js';
import { portalText } from '../../../host/iscsi.js';
import { isMapNode, sameNode } from '../../../host/multipath.js';
import type { StorageDriver } from '../driver.js';
import { lunVolumeOps } from '../block/lun-volumes.js';
import { Reverter } from '../../../model/reverter.js';
import { poolMaps, reinstatePaths, removeMaps, syncMaps } from './iscsi-multipath.js';
import { ISCSI_TARGET, checkIscsiSource, usesMultipath, type IscsiSource } from './iscsi-settings.js';
import { loginAll, logoutAll, poolSessions, portalsOf, rejoinPortals, rescanAll } from './iscsi-sessions.js';
import { listLuns, readLun } from './iscsi-luns.js';
import { careForDirect, checkDirect, directLun, directLunAccess, directLuns, directStatus, forgetLuns, isDirect, lookAtLuns } from './iscsi-direct.js';

/**
 * The `iscsi` pool: the LUNs of one target, reached through one session per portal. Start logs in
 * (CHAP one-way or mutual), stop logs out and removes every record it made; a failed start leaves
 * nothing behind. LUNs are made on the target, not here: they are used, copied from, uploaded into,
 * downloaded and wiped, never created or deleted.
 */
const kernelLuns = lunVolumeOps(readLun);

export const iscsiDriver: StorageDriver<IscsiSource, Record<string, never>> = {
  listsWhenStopped: false,

  async validate(def) {
    if (def.target !== '' && def.target !== ISCSI_TARGET) throw errors.invalid(`the target of an iscsi pool is '${ISCSI_TARGET}', where udev names its LUNs`);
    const source = checkIscsiSource(def.source, def.secrets);
    return { ...def, target: ISCSI_TARGET, source: isDirect(def) ? await checkDirect(source) : source };
  },

  resources: (def) => ({ names: [`iscsi:${def.source.iqn.toLowerCase()}`] }),

  // udev's name of one of its LUNs (known without a session: udev writes the address unbracketed),
  // its multipath map, or another name of a LUN it shows now.
  async provides(def, device) {
    if (isDirect(def)) return false;
    for (const p of portalsOf(def)) {
      const prefix = `/dev/disk/by-path/ip-${p.host}:${p.port}-iscsi-${def.source.iqn}-lun-`;
      if (device.startsWith(prefix) && /^\d+$/.test(device.slice(prefix.length))) return true;
    }
    if (await isMapNode(device, await poolMaps(def))) return true;
    const luns = (await poolSessions(def)).flatMap((s) => s.luns.flatMap((l) => (l.device ? [l.device] : [])));
    return sameNode(device, luns);
  },

  build: async () => [],

  async start(def, ctx) {
    // A direct pool has nothing on the host: its start checks the target lets it in and sees the LUNs.
    if (isDirect(def)) return void (await lookAtLuns(def));
    await loginAll(def, ctx);
    if (!usesMultipath(def)) return;
    // A map that cannot be made undoes the start: the LUNs must not be used path by path meanwhile.
    await syncMaps(def).catch(async (e: unknown) => {
      await Reverter.run(ctx.log, async (r) => {
        r.add('log out', () => logoutAll(def));
        r.add('remove the multipath maps', () => removeMaps(def));
        throw e;
      });
    });
  },

  async stop(def) {
    if (isDirect(def)) return forgetLuns(def);
    await removeMaps(def);
    await logoutAll(def);
  },

  async delete(def) {
    if (isDirect(def)) return;
    if ((await poolSessions(def)).length > 0) throw new KvmpoolError('POOL_ACTIVE', `the host is logged in to ${def.source.iqn}: stop pool '${def.name}' first`, { pool: def.name });
  },

  async status(def): Promise<PoolStatus> {
    // Nothing of a direct pool is on the host to look at; qemu and qemu-img each reach the target bounded.
    if (isDirect(def)) return directStatus(def);
    // Checked before every volume operation: sysfs only, read once (no map listing, no udev links).
    const sessions = await poolSessions(def);
    const live = sessions.filter((s) => s.state === 'LOGGED_IN');
    const sizes = new Map(sessions.flatMap((s) => s.luns.filter((l) => l.device !== undefined).map((l) => [l.lun, l.size] as const)));
    const capacity = [...sizes.values()].reduce((n, size) => n + size, 0);
    const usage = { capacity, allocation: capacity, available: 0 };
    const portals = portalsOf(def).map(portalText);
    const working = portals.filter((p) => live.some((s) => portalText(s.portal) === p));
    if (working.length === 0) return { state: 'degraded', reason: `no working session with ${def.source.iqn}`, ...usage, capacity: 0, allocation: 0 };
    // With a session left, its LUNs still work (listed through it).
    if (working.length < portals.length) return { state: 'degraded', reason: `no working session through ${portals.filter((p) => !working.includes(p)).join(', ')}`, usable: true, ...usage };
    return { state: 'running', ...usage };
  },

  // LUNs added or grown on the target show up (pool refresh).
  async rescan(def) {
    if (isDirect(def)) return void (await lookAtLuns(def));
    await rescanAll(def);
    if (usesMultipath(def)) await syncMaps(def);
  },

  // A path whose session works again is taken back into a LUN's map (or the map reloaded with it).
  async maintain(def) {
    if (isDirect(def)) return void (await careForDirect(def));
    if (usesMultipath(def)) {
      await reinstatePaths(def);
      await syncMaps(def);
    }
    // A portal whose session is gone is logged in to again, and its path joins the LUNs' maps.
    if ((await rejoinPortals(def)) && usesMultipath(def)) await syncMaps(def);
    return undefined;
  },

  async forget(def) {
    if (isDirect(def)) return forgetLuns(def);
    await removeMaps(def);
    await logoutAll(def);
  },

  // From sysfs only: a listing never waits on the target.
  listVolumes: async (def) => (isDirect(def) ? directLuns(def) : listLuns(def)),
  volumeInfo: (def, _known, name) => (isDirect(def) ? directLun(def, name) : readLun(def, name)),
  ...kernelLuns,
  // A VM that has a direct LUN is known to the service; no host process holds one by a path.
  volumeUsers: (def, vol) => (isDirect(def) ? Promise.resolve([]) : kernelLuns.volumeUsers(def as never, vol)),
  access: (def, vol, traits) => (isDirect(def) ? directLunAccess(def, vol) : kernelLuns.access(def as never, vol, traits)),
};
