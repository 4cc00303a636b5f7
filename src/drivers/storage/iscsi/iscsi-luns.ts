import { errors } from '../../../model/errors.js';
import type { PoolDefinition } from '../../../model/pool-types.js';
import type { VolumeFacts } from '../../../model/volume-types.js';
import { byPathName } from '../../../host/iscsi.js';
import { mapName, poolMaps } from './iscsi-multipath.js';
import { poolSessions } from './iscsi-sessions.js';
import { usesMultipath, type IscsiSource } from './iscsi-settings.js';

type Def = PoolDefinition<IscsiSource>;

/** A LUN's volume name: `lun-N`, the same from every host and every login. */
export const lunName = (lun: number) => `lun-${lun}`;

/**
 * The target's LUNs as volumes, each once (through the first of the pool's portals that shows it);
 * a LUN whose block device the kernel has not made yet is left out. The path is its multipath map
 * where the pool makes them, else udev's stable name where it exists, else the kernel's node.
 */
export async function listLuns(def: Def): Promise<VolumeFacts[]> {
  const seen = new Map<number, VolumeFacts>();
  const maps = usesMultipath(def) ? await poolMaps(def) : [];
  // Working sessions first: a LUN is reached through one of them where there is one.
  const sessions = (await poolSessions(def)).sort((a, b) => Number(b.state === 'LOGGED_IN') - Number(a.state === 'LOGGED_IN'));
  for (const s of sessions) {
    for (const l of s.luns) {
      if (seen.has(l.lun) || l.device === undefined) continue;
      const map = maps.includes(mapName(def, l.lun)) ? `/dev/mapper/${mapName(def, l.lun)}` : undefined;
      const path = map ?? (await byPathName(def.source.iqn, s.portal, l.lun, l.device)) ?? l.device;
      seen.set(l.lun, { name: lunName(l.lun), path, format: 'raw', capacity: l.size, allocation: l.size, identity: `${def.source.iqn}:${l.lun}`, stamp: `${l.device}:${l.size}`, kind: 'lun' });
    }
  }
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

/** One LUN; NOT_FOUND when the target does not show it. */
export async function readLun(def: Def, name: string): Promise<VolumeFacts> {
  const v = (await listLuns(def)).find((x) => x.name === name);
  if (!v) throw errors.notFound('volume', `${def.name}/${name}`);
  return v;
}
