import { createHash } from 'node:crypto';
import type { PoolDefinition } from '../../../model/pool-types.js';
import { KvmpoolError, errors } from '../../../model/errors.js';
import { createMap, deviceNumber, diskIdentity, mapOpenCount, mapPaths, mapTable, multipathMaps, reinstatePath, reloadMap, removeMap } from '../../../host/multipath.js';
import { liveSessions } from './iscsi-sessions.js';
import type { IscsiSource } from './iscsi-settings.js';

type Def = PoolDefinition<IscsiSource>;


/** The map prefix of the pool's LUNs (device-mapper names are at most 127 characters). */
function prefixOf(def: Def): string {
  const name = `kvmpool-${def.name}`;
  return `${name.length <= 100 ? name : `${name.slice(0, 83)}-${createHash('sha256').update(def.name).digest('hex').slice(0, 16)}`}-lun-`;
}

/** The map of LUN `lun`: /dev/mapper/kvmpool-POOL-lun-N. */
export const mapName = (def: Def, lun: number): string => `${prefixOf(def)}${lun}`;

/** The pool's maps that exist now. */
export async function poolMaps(def: Def): Promise<string[]> {
  const prefix = prefixOf(def);
  return (await multipathMaps()).filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)));
}

/**
 * Brings each LUN's map in step with its working paths: made where missing, its table reloaded where
 * a path came or went (a session logged in again has a new device) or the LUN grew. The paths of one
 * map must be one disk: where the devices tell who they are, they must agree.
 */
export async function syncMaps(def: Def): Promise<void> {
  const byLun = new Map<number, { devices: string[]; size: number }>();
  for (const s of await liveSessions(def)) {
    for (const l of s.luns) {
      if (!l.device) continue;
      const entry = byLun.get(l.lun) ?? { devices: [], size: l.size };
      entry.devices.push(l.device);
      entry.size = Math.min(entry.size, l.size);
      byLun.set(l.lun, entry);
    }
  }
  const existing = await poolMaps(def);
  for (const [lun, { devices, size }] of byLun) {
    const ids = new Set((await Promise.all(devices.map(diskIdentity))).filter((x) => x !== undefined));
    if (ids.size > 1) throw new KvmpoolError('HOST_COMMAND_FAILED', `LUN ${lun} of ${def.source.iqn} is a different disk through different portals (${[...ids].join(', ')}): no multipath map is made over them`, { lun });
    const name = mapName(def, lun);
    const paths = await Promise.all(devices.map(deviceNumber));
    if (!existing.includes(name)) {
      await createMap(name, size / 512, paths);
      continue;
    }
    const table = await mapTable(name);
    if (table.sectors !== size / 512 || table.paths.join(' ') !== paths.join(' ')) await reloadMap(name, size / 512, paths);
  }
}

/** Removes the pool's maps: none while any of them is open (IN_USE), so a stop never leaves half of them. */
export async function removeMaps(def: Def): Promise<void> {
  const maps = await poolMaps(def);
  for (const name of maps) if ((await mapOpenCount(name)) > 0) throw errors.inUse(`multipath map ${name} is in use`, { pool: def.name, map: name });
  for (const name of maps) await removeMap(name);
}

/** Takes back into use the failed paths of the pool's maps whose sessions work again. */
export async function reinstatePaths(def: Def): Promise<void> {
  const working = new Set<string>();
  for (const s of await liveSessions(def)) for (const l of s.luns) if (l.device) working.add(await deviceNumber(l.device));
  for (const name of await poolMaps(def)) {
    for (const p of await mapPaths(name)) if (!p.active && working.has(p.device)) await reinstatePath(name, p.device);
  }
}
