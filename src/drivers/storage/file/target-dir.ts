import { mkdir, realpath, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { KvmpoolError, errors } from '../../../model/errors.js';
import { checkTargetPath } from '../../../model/paths.js';
import type { PoolDefinition } from '../../../model/pool-types.js';
import { absent } from '../../../model/ignore.js';

/** Mode of a directory `build` makes: root lists it, others (qemu as another user) may only traverse. */
const POOL_DIR_MODE = 0o711;

/**
 * The target directory of a file pool, checked and resolved: the real location counts (a symlink must
 * not lead into a system directory, and two pools reached through different links must be seen to
 * overlap).
 */
export async function resolveTargetDir(target: string): Promise<string> {
  return checkTargetPath(await realExistingPrefix(checkTargetPath(target)));
}

/** Makes the target directory (and missing parents); returns the first directory it created, if any. */
export async function makeTargetDir(target: string): Promise<string[]> {
  const st = await stat(target).catch(absent);
  if (st && !st.isDirectory()) throw errors.invalid(`target '${target}' exists and is not a directory`, { target });
  if (st) return [];
  const first = await mkdir(target, { recursive: true, mode: POOL_DIR_MODE });
  return first ? [first] : [];
}

/**
 * Removes the directories `makeTargetDir` created, deepest first; rmdir refuses one that still holds
 * anything. The target must go; a parent that now holds something else (another pool) stays.
 */
export async function removeTargetDirs(def: PoolDefinition<unknown>, created: string[]): Promise<void> {
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
}

/** The directories between the first one build created (a path in `created`) and the target, deepest first. */
function createdDirs(target: string, created: string[]): string[] {
  const first = created.find((c) => c.startsWith('/'));
  if (!first) return [];
  const dirs: string[] = [];
  for (let d = target; d.length >= first.length && d !== path.dirname(d); d = path.dirname(d)) dirs.push(d);
  return dirs;
}

/** Resolves symlinks in the longest existing prefix of `p` and appends the rest. */
async function realExistingPrefix(p: string): Promise<string> {
  let rest = '';
  for (let dir = p; ; dir = path.dirname(dir)) {
    const real = await realpath(dir).catch(absent);
    if (real !== undefined) return path.join(real, rest);
    if (dir === '/') return p;
    rest = path.join(path.basename(dir), rest);
  }
}
