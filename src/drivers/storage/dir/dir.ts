import { access, constants, stat } from 'node:fs/promises';
import { Type, type Static } from 'typebox';
import { KvmpoolError } from '../../../model/errors.js';
import type { PoolStatus } from '../../../model/pool-types.js';
import { fsUsage } from '../../../host/fs-usage.js';
import type { StorageDriver } from '../driver.js';
import { fileVolumeOps } from '../file/file-driver.js';
import { makeTargetDir, removeTargetDirs, resolveTargetDir } from '../file/target-dir.js';
import { absent } from '../../../model/ignore.js';

/** A dir pool has no settings besides its target (nor volume options). */
export const DirSettings = Type.Object({}, { additionalProperties: false });
type Settings = Static<typeof DirSettings>;

/** The `dir` pool's driver: a directory of image files. */
export const dirDriver: StorageDriver<Settings, Settings> = {
  listsWhenStopped: true,
  ...fileVolumeOps,

  async validate(def) {
    return { ...def, target: await resolveTargetDir(def.target) };
  },

  resources: (def) => ({ directories: [def.target] }),

  build: (def) => makeTargetDir(def.target),

  async start(def) {
    const st = await stat(def.target).catch(absent);
    if (!st?.isDirectory()) throw new KvmpoolError('POOL_NOT_BUILT', `pool '${def.name}' is not built: ${def.target} is not a directory (run 'pool build')`, { pool: def.name });
  },

  async stop() {},

  delete: (def, created) => removeTargetDirs(def, created),

  async status(def): Promise<PoolStatus> {
    const empty = { capacity: 0, allocation: 0, available: 0 };
    const st = await stat(def.target).catch(absent);
    if (!st) return { state: 'degraded', reason: `target ${def.target} is missing`, ...empty };
    if (!st.isDirectory()) return { state: 'degraded', reason: `target ${def.target} is not a directory`, ...empty };
    try {
      await access(def.target, constants.R_OK | constants.W_OK | constants.X_OK);
    } catch {
      return { state: 'degraded', reason: `target ${def.target} is not readable and writable`, ...empty };
    }
    return { state: 'running', ...(await fsUsage(def.target)) };
  },
};
