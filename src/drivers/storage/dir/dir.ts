import { access, constants, mkdir, realpath, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { KvmpoolError, errors } from '../../../model/errors.js';
import { checkTargetPath } from '../../../model/paths.js';
import type { PoolDefinition, PoolStatus } from '../../../model/types.js';
import { fsUsage } from '../../../host/fs-usage.js';
import type { StorageDriver } from '../driver.js';
import { fileVolumeOps } from '../file/file-driver.js';

/** Mode of a directory `build` makes: root lists it, others (qemu as another user) may only traverse. */
const POOL_DIR_MODE = 0o711;

/** The `dir` pool: a directory of image files. */
export const dirDriver: StorageDriver = {
  type: 'dir',
  ...fileVolumeOps((def) => def.target),

  async validate(def) {
    // The real location counts: a symlink must not lead into a system directory, and two pools
    // reached through different links must be seen to overlap. The resolved path is what is kept.
    const target = checkTargetPath(await realExistingPrefix(checkTargetPath(def.target)));
    return { ...def, target };
  },

  async build(def) {
    const st = await stat(def.target).catch(() => undefined);
    if (st && !st.isDirectory()) throw errors.invalid(`target '${def.target}' exists and is not a directory`, { target: def.target });
    if (st) return [];
    const first = await mkdir(def.target, { recursive: true, mode: POOL_DIR_MODE });
    return first ? [first] : [];
  },

  async start(def) {
    const st = await stat(def.target).catch(() => undefined);
    if (!st?.isDirectory()) throw new KvmpoolError('POOL_NOT_BUILT', `pool '${def.name}' is not built: ${def.target} is not a directory (run 'pool build')`, { pool: def.name });
  },

  async stop() {},

  async delete(def, created) {
    // Remove the deepest directory first; rmdir refuses a directory that still holds anything. The
    // target must go; a parent that build made but that now holds something else (another pool) stays.
    for (const dir of createdDirs(def.target, created)) {
      const removed = await rmdir(dir).then(
        () => true,
        (e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') return true;
          if ((e.code === 'ENOTEMPTY' || e.code === 'EEXIST') && dir !== def.target) return false;
          if (e.code === 'ENOTEMPTY' || e.code === 'EEXIST') {
            throw new KvmpoolError('POOL_NOT_EMPTY', `cannot delete pool '${def.name}': ${dir} still holds files kvmpool did not create`, { pool: def.name, path: dir });
          }
          throw e;
        },
      );
      if (!removed) break;
    }
  },

  async status(def): Promise<PoolStatus> {
    const empty = { capacity: 0, allocation: 0, available: 0 };
    const st = await stat(def.target).catch(() => undefined);
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

/** The directories between the first one build created and the target, deepest first. */
function createdDirs(target: string, created: string[]): string[] {
  const first = created[0];
  if (!first) return [];
  const dirs: string[] = [];
  for (let d = target; d.length >= first.length && d !== path.dirname(d); d = path.dirname(d)) dirs.push(d);
  return dirs;
}

/** Resolves symlinks in the longest existing prefix of `p` and appends the rest. */
async function realExistingPrefix(p: string): Promise<string> {
  let rest = '';
  for (let dir = p; ; dir = path.dirname(dir)) {
    const real = await realpath(dir).catch(() => undefined);
    if (real !== undefined) return path.join(real, rest);
    if (dir === '/') return p;
    rest = path.join(path.basename(dir), rest);
  }
}
