import { stat } from 'node:fs/promises';
import { KvmpoolError, errors } from '../../../model/errors.js';
import type { PoolDefinition, PoolStatus } from '../../../model/pool-types.js';
import { mountEntryAt, type MountEntry } from '../../../host/mountinfo.js';
import { mountShare, shareSource, unmountShare } from '../../../host/netfs.js';
import type { StorageDriver } from '../driver.js';
import { fileVolumeOps } from '../file/file-driver.js';
import { makeTargetDir, removeTargetDirs, resolveTargetDir } from '../file/target-dir.js';
import { absent } from '../../../model/ignore.js';
import { checkNetfsSource, shareOf, type NetfsSource } from './netfs-settings.js';
import { forgetMountHealth, lastMountHealth, mountHealth } from './netfs-health.js';

type Def = PoolDefinition<NetfsSource>;

// inotify sees only the changes made through this host's mount, not those of the server or other
// hosts: a netfs pool's listings read its directory instead.
const { watch: _localOnly, ...volumeOps } = fileVolumeOps;

/** File system types the kernel reports for a mount of the protocol. */
const FSTYPES = { nfs: ['nfs', 'nfs4'], cifs: ['cifs', 'smb3'] } as const;

/** Whether `m` is this pool's share (not something else mounted at its target). */
function isOurs(def: Def, m: MountEntry | undefined): boolean {
  const protocol = def.source.protocol ?? 'nfs';
  return m !== undefined && (FSTYPES[protocol] as readonly string[]).includes(m.fstype) && m.source === shareSource(shareOf(def.source));
}

/**
 * The `netfs` pool: an NFS export or a CIFS share that start mounts at the target (nodev, nosuid,
 * noexec) and stop unmounts. Its volumes are files, exactly as in a `dir` pool. Nothing here waits on
 * the server unbounded: the mount table is read from /proc, and the server is asked through a
 * process that is killed after a few seconds (netfs-health.ts).
 */
export const netfsDriver: StorageDriver<NetfsSource, Record<string, never>> = {
  listsWhenStopped: false,
  ...volumeOps,

  async validate(def) {
    return { ...def, target: await resolveTargetDir(def.target), source: checkNetfsSource(def.source, def.secrets['password'] !== undefined) };
  },

  resources: (def) => ({ directories: [def.target], names: [`share:${shareSource(shareOf(def.source))}`] }),

  build: (def) => makeTargetDir(def.target),

  async start(def) {
    const mounted = await mountEntryAt(def.target);
    if (isOurs(def, mounted)) return;
    if (mounted) throw errors.inUse(`${mounted.source} is already mounted at ${def.target}`, { target: def.target, source: mounted.source });
    if (!(await stat(def.target).catch(absent))?.isDirectory()) {
      throw new KvmpoolError('POOL_NOT_BUILT', `pool '${def.name}' is not built: mount point ${def.target} is missing (run 'pool build')`, { pool: def.name });
    }
    forgetMountHealth(def.target);
    await mountShare(shareOf(def.source), def.target, def.secrets['password']);
  },

  async stop(def) {
    const mounted = await mountEntryAt(def.target);
    if (!isOurs(def, mounted)) return;
    // A server known to be gone would hold a plain unmount: the mount is detached instead.
    await unmountShare(def.target, lastMountHealth(def.target)?.ok === false);
    forgetMountHealth(def.target);
  },

  async delete(def, created) {
    if (isOurs(def, await mountEntryAt(def.target))) throw new KvmpoolError('POOL_ACTIVE', `${def.target} is still mounted: stop pool '${def.name}' first`, { pool: def.name });
    await removeTargetDirs(def, created);
  },

  async status(def): Promise<PoolStatus> {
    const empty = { capacity: 0, allocation: 0, available: 0 };
    const source = shareSource(shareOf(def.source));
    if (!isOurs(def, await mountEntryAt(def.target))) return { state: 'degraded', reason: `${source} is not mounted at ${def.target}`, ...empty };
    const health = await mountHealth(def.target, def.source.host);
    if (!health.ok) return { state: 'degraded', reason: health.reason, ...empty };
    return { state: 'running', ...health.usage };
  },
};
