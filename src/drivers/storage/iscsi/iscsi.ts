import { KvmpoolError, errors } from '../../../model/errors.js';
import type { PoolStatus } from '../../../model/pool-types.js';
import { assertDeviceFree } from '../../../host/blockdev.js';
import { rescan } from '../../../host/iscsi.js';
import { processesUsing } from '../../../host/open-files.js';
import type { StorageDriver } from '../driver.js';
import { wipeBlockVolume, zeroRange } from '../block/block-data.js';
import { ISCSI_TARGET, checkIscsiSource, type IscsiSource } from './iscsi-settings.js';
import { loginAll, logoutAll, poolSessions, portalsOf } from './iscsi-sessions.js';
import { listLuns, readLun } from './iscsi-luns.js';

/**
 * The `iscsi` pool: the LUNs of one target, reached through one session per portal. Start logs in
 * (CHAP one-way or mutual), stop logs out and removes every record it made; a failed start leaves
 * nothing behind. LUNs are made on the target, not here: they are used, copied from, uploaded into,
 * downloaded and wiped, never created or deleted.
 */
export const iscsiDriver: StorageDriver<IscsiSource, Record<string, never>> = {
  listsWhenStopped: false,

  async validate(def) {
    if (def.target !== '' && def.target !== ISCSI_TARGET) throw errors.invalid(`the target of an iscsi pool is '${ISCSI_TARGET}', where udev names its LUNs`);
    return { ...def, target: ISCSI_TARGET, source: checkIscsiSource(def.source, def.secrets) };
  },

  resources: (def) => ({ names: [`iscsi:${def.source.iqn}`] }),

  build: async () => [],

  start: (def, ctx) => loginAll(def, ctx),

  stop: (def) => logoutAll(def),

  async delete(def) {
    if ((await poolSessions(def)).length > 0) throw new KvmpoolError('POOL_ACTIVE', `the host is logged in to ${def.source.iqn}: stop pool '${def.name}' first`, { pool: def.name });
  },

  async status(def): Promise<PoolStatus> {
    const sessions = await poolSessions(def);
    const luns = await listLuns(def);
    const capacity = luns.reduce((n, v) => n + v.capacity, 0);
    const usage = { capacity, allocation: capacity, available: 0 };
    const portals = portalsOf(def).length;
    if (sessions.length === 0) return { state: 'degraded', reason: `no session with ${def.source.iqn}`, ...usage, capacity: 0, allocation: 0 };
    // With a session left, its LUNs still work.
    if (sessions.length < portals) return { state: 'degraded', reason: `${portals - sessions.length} of ${portals} portals have no session`, usable: true, ...usage };
    return { state: 'running', ...usage };
  },

  probe: async () => ({ reflink: false, directIO: true }),

  async listVolumes(def) {
    // A LUN added or grown on the target shows after a rescan.
    for (const s of await poolSessions(def)) await rescan(s.sid);
    return listLuns(def);
  },
  volumeInfo: (def, _known, name) => readLun(def, name),
  async volumeUsers(_def, vol) {
    const users = (await processesUsing(vol.path)).map((u) => `${u.command}[${u.pid}]`);
    if (users.length > 0) return users;
    return assertDeviceFree(vol.path).then(
      () => [],
      () => ['the kernel (mounted, or under another device)'],
    );
  },
  access: (_def, vol) => ({ access: { kind: 'block', path: vol.path }, directIO: true, discard: false }),
  transfers: {
    dataExtents: async (_def, vol) => [{ start: 0, length: vol.capacity, data: true }],
    // A LUN is written in place: there is nowhere to stage a second copy.
    stage: async (_def, vol) => ({ access: { kind: 'block', path: vol.path }, create: false, zeroHoles: true }),
    async commit(def, vol, _stage, end, grow) {
      if (grow) throw errors.notSupported('an upload cannot grow a LUN: grow it on the target');
      if (end > vol.capacity) throw errors.invalid(`the upload is ${end} bytes, larger than the LUN (${vol.capacity})`);
      await zeroRange(vol.path, end, vol.capacity);
      return readLun(def, vol.name);
    },
    discard: async () => {},
  },
  wipe: {
    wipe: async (def, vol, algorithm, verify, ctx) => {
      await wipeBlockVolume(vol, algorithm, verify, false, ctx);
      return readLun(def, vol.name);
    },
  },
};
