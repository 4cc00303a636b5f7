import { stat } from 'node:fs/promises';
import { KvmpoolError, errors } from '../../../model/errors.js';
import type { PoolDefinition, PoolStatus } from '../../../model/pool-types.js';
import { mountEntryAt, type MountEntry } from '../../../host/mountinfo.js';
import { mountShare, shareSource, unmountShare } from '../../../host/netfs.js';
import type { StorageDriver } from '../driver.js';
import { fileVolumeOps } from '../file/file-driver.js';
import { makeTargetDir, removeTargetDirs, resolveTargetDir } from '../file/target-dir.js';
import { absent, observedElsewhere } from '../../../model/ignore.js';
import { checkNetfsSource, shareOf, type NetfsSource } from './netfs-settings.js';
import { forgetMountHealth, lastMountHealth, mountHealth } from './netfs-health.js';

type Def = PoolDefinition<NetfsSource>;

// inotify sees only the changes made through this host's mount, not those of the server or other
// hosts: a netfs pool's listings read its directory instead.
const { watch: _localOnly, ...fileOps } = fileVolumeOps;

/** How long a read of the mount may take before the caller gets UNAVAILABLE (the read itself is left to end when it can). */
const READ_TIMEOUT_MS = 15_000;

/** `work`, or UNAVAILABLE after READ_TIMEOUT_MS: a server that went away mid-way must not hold the caller. */
function bounded<T>(def: Def, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KvmpoolError('UNAVAILABLE', `${what} on ${shareSource(shareOf(def.source))}: no answer within ${READ_TIMEOUT_MS / 1000} s (is the server there?)`, { pool: def.name })), READ_TIMEOUT_MS);
  });
  // Past the bound, the caller has its answer: the late outcome is nobody's.
  work.catch(observedElsewhere);
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** The file volume operations, with every read of the mount bounded. */
const volumeOps: typeof fileOps = {
  ...fileOps,
  probe: (def) => bounded(def as Def, 'probing the mount', fileOps.probe(def)),
  listVolumes: (def, known) => bounded(def as Def, 'listing the volumes', fileOps.listVolumes(def, known)),
  scan: async (def) => {
    const scan = await bounded(def as Def, 'listing the volumes', fileOps.scan!(def));
    return { names: scan.names, read: (names, known) => bounded(def as Def, 'reading volumes', scan.read(names, known)) };
  },
  volumeInfo: (def, known, name) => bounded(def as Def, `reading volume ${name}`, fileOps.volumeInfo(def, known, name)),
  volumes: { ...fileOps.volumes!, discardPartial: (def, name) => bounded(def as Def, `removing what a create of ${name} left`, fileOps.volumes!.discardPartial!(def, name)) },
};

/** File system types the kernel reports for a mount of the protocol. */
const FSTYPES = { nfs: ['nfs', 'nfs4'], cifs: ['cifs', 'smb3'] } as const;

/** UNAVAILABLE unless the server behind the pool's mount answers (within the health check's bound). */
async function assertAnswers(def: Def): Promise<void> {
  const health = await mountHealth(def.target, def.source.host);
  if (!health.ok) throw new KvmpoolError('UNAVAILABLE', `pool '${def.name}': ${health.reason}`, { pool: def.name });
}

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
    // Mounted already (a daemon restart): usable only if its server answers.
    if (isOurs(def, mounted)) return assertAnswers(def);
    if (mounted) throw errors.inUse(`${mounted.source} is already mounted at ${def.target}`, { target: def.target, source: mounted.source });
    if (!(await stat(def.target).catch(absent))?.isDirectory()) {
      throw new KvmpoolError('POOL_NOT_BUILT', `pool '${def.name}' is not built: mount point ${def.target} is missing (run 'pool build')`, { pool: def.name });
    }
    forgetMountHealth(def.target);
    await mountShare(shareOf(def.source), def.target, def.secrets['password']);
  },

  // A pool that should run but is not mounted (its server was away when the daemon started it) is
  // mounted as soon as the server answers.
  async maintain(def) {
    if (isOurs(def, await mountEntryAt(def.target))) return undefined;
    forgetMountHealth(def.target);
    await mountShare(shareOf(def.source), def.target, def.secrets['password']);
    return undefined;
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
