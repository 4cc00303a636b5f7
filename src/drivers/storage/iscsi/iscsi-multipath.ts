import { createHash } from 'node:crypto';
import type { PoolDefinition } from '../../../model/pool-types.js';
import { createMap, deviceNumber, mapExists, mapPaths, multipathMaps, reinstatePath, removeMap } from '../../../host/multipath.js';
import { liveSessions, portalsOf } from './iscsi-sessions.js';
import type { IscsiSource } from './iscsi-settings.js';

type Def = PoolDefinition<IscsiSource>;

/** Whether the pool's LUNs are used through multipath maps: with several portals, unless turned off. */
export const usesMultipath = (def: Def): boolean => portalsOf(def).length > 1 && def.source.noMultipath !== true;

/** The map prefix of the pool's LUNs (device-mapper names are at most 127 characters). */
function prefixOf(def: Def): string {
  const name = `kvmpool-${def.name}`;
  return `${name.length <= 100 ? name : `${name.slice(0, 83)}-${createHash('sha256').update(def.name).digest('hex').slice(0, 16)}`}-lun-`;
}

/** The map of LUN `lun`: /dev/mapper/kvmpool-POOL-lun-N. */
export const mapName = (def: Def, lun: number): string => `${prefixOf(def)}${lun}`;

/** The pool's maps that exist now. */
async function poolMaps(def: Def): Promise<string[]> {
  const prefix = prefixOf(def);
  return (await multipathMaps()).filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)));
}

/** Makes a map over every working path of each LUN that has none yet; returns the names it made. */
export async function makeMaps(def: Def): Promise<string[]> {
  const byLun = new Map<number, { devices: string[]; size: number }>();
  for (const s of await liveSessions(def)) {
    for (const l of s.luns) {
      if (!l.device) continue;
      const entry = byLun.get(l.lun) ?? { devices: [], size: l.size };
      entry.devices.push(l.device);
      byLun.set(l.lun, entry);
    }
  }
  const made: string[] = [];
  for (const [lun, { devices, size }] of byLun) {
    const name = mapName(def, lun);
    if (await mapExists(name)) continue;
    await createMap(name, size / 512, await Promise.all(devices.map(deviceNumber)));
    made.push(name);
  }
  return made;
}

/** Removes the pool's maps; IN_USE when one is held open. */
export async function removeMaps(def: Def): Promise<void> {
  for (const name of await poolMaps(def)) await removeMap(name);
}

/** Takes back into use the failed paths of the pool's maps whose sessions work again. */
export async function reinstatePaths(def: Def): Promise<void> {
  const working = new Set<string>();
  for (const s of await liveSessions(def)) for (const l of s.luns) if (l.device) working.add(await deviceNumber(l.device));
  for (const name of await poolMaps(def)) {
    for (const p of await mapPaths(name)) if (!p.active && working.has(p.device)) await reinstatePath(name, p.device);
  }
}
