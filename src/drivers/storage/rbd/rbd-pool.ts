import { KvmpoolError } from '../../../model/errors.js';
import type { PoolStatus } from '../../../model/pool-types.js';
import { CONNECT_TIMEOUT_S, cephJson, placeArgs, rbd, rbdJson, unlessGone, type RbdPlace } from '../../../host/rbd.js';
import { Reverter } from '../../../model/reverter.js';
import { HealthLooks } from '../health-looks.js';
import { clientConf, clientConfOf, placeName, placeOf, type Def } from './rbd-place.js';
import { writeFile } from 'node:fs/promises';

/**
 * Whether the pool's place can be listed: NOT_FOUND when the Ceph pool or the namespace is missing,
 * AUTH_FAILED for a key or caps refused, UNAVAILABLE when no monitor answers (within the bound).
 */
async function reach(p: RbdPlace): Promise<void> {
  await rbd(p, ['ls', ...placeArgs(p)], `Ceph pool ${placeName(p)}`);
}

/** What `ceph df detail` says (the fields kvmpool reads). */
interface CephDf {
  stats: { total_bytes: number; total_avail_bytes: number };
  pools: { name: string; stats: { stored: number; max_avail: number; quota_bytes: number } }[];
}

/** Usage as a pool's status gives it, and the room the Ceph pool's quota leaves (when it has one). */
type Usage = Pick<PoolStatus, 'capacity' | 'allocation' | 'available'> & { quotaRoom?: number };

/**
 * Usage of the Ceph pool: what its data takes, and what it can still take (the quota's room, where
 * smaller). A pool made moments ago is not in the managers' figures yet: the cluster's raw figures
 * stand in (`settled` false) until it is.
 */
async function usageOf(p: RbdPlace): Promise<{ usage: Usage; settled: boolean }> {
  const df = await cephJson<CephDf>(p, ['df', 'detail'], `the usage of Ceph pool ${p.pool}`);
  const s = df.pools.find((x) => x.name === p.pool)?.stats;
  if (!s) return { usage: { capacity: df.stats.total_bytes, allocation: 0, available: df.stats.total_avail_bytes }, settled: false };
  const quotaRoom = s.quota_bytes > 0 ? Math.max(0, s.quota_bytes - s.stored) : undefined;
  const room = quotaRoom === undefined ? s.max_avail : Math.min(s.max_avail, quotaRoom);
  return { usage: { capacity: s.stored + room, allocation: s.stored, available: room, ...(quotaRoom !== undefined ? { quotaRoom } : {}) }, settled: true };
}

const keyOf = (def: Def): string => `${def.name}\0${def.source.monitors.join(',')}\0${placeName(placeOf(def))}`;
const looks = new HealthLooks<true>();
/** The last usage read per pool: operations check health often, usage is read by `pool info` and the periodic care. */
const usage = new Map<string, Usage>();

const reason = (e: unknown): string => (e instanceof KvmpoolError ? `${e.message}${e.code === 'UNAVAILABLE' ? '' : ` (${e.code})`}` : String(e));

/**
 * Health and usage of a started pool: the cluster asked within its bound (one look shared by a burst
 * of operations); usage read again with `detail`, else the last reading.
 */
export async function rbdStatus(def: Def, detail = false): Promise<PoolStatus> {
  const p = placeOf(def);
  const key = keyOf(def);
  const health = await looks.health(key, () => reach(p).then(() => true as const), reason);
  if (!health.ok) return { state: 'degraded', reason: health.reason, capacity: 0, allocation: 0, available: 0 };
  let u = usage.get(key);
  if (detail || !u) {
    try {
      const read = await usageOf(p);
      u = read.usage;
      if (read.settled) usage.set(key, u);
    } catch (e) {
      return { state: 'degraded', reason: reason(e), capacity: 0, allocation: 0, available: 0 };
    }
  }
  const { quotaRoom: _q, ...figures } = u;
  return { state: 'running', ...figures };
}

/**
 * The room the Ceph pool's quota leaves, as last read (pool start, `pool info`, the periodic care);
 * undefined without a quota. Images are thin and may promise more than a pool holds, but never more
 * than its quota allows.
 */
export function quotaRoom(def: Def): number | undefined {
  return usage.get(keyOf(def))?.quotaRoom;
}

/** Starts the pool: its place must be there and the user let in (NOT_FOUND as POOL_NOT_BUILT when build would make it). */
export async function startRbd(def: Def): Promise<void> {
  const p = placeOf(def);
  await writeClientConf(def);
  stopRbd(def);
  try {
    await reach(p);
  } catch (e) {
    if (e instanceof KvmpoolError && e.code === 'NOT_FOUND') {
      if (def.source.createPool) throw new KvmpoolError('POOL_NOT_BUILT', `pool '${def.name}' is not built: Ceph pool ${placeName(p)} is missing (run 'pool build')`, { pool: def.name });
      throw new KvmpoolError('NOT_FOUND', `Ceph pool ${placeName(p)} does not exist (make it, or define the pool with --create-pool)`, { rbdPool: p.pool, namespace: p.namespace });
    }
    throw e;
  }
}

/** Writes the Ceph client settings qemu reads for the pool's images (see clientConfOf). */
export async function writeClientConf(def: Def): Promise<void> {
  await writeFile(clientConfOf(def), clientConf(CONNECT_TIMEOUT_S), { mode: 0o600 });
}

/** Forgets what was looked at (the pool stopped, or starts again). */
export function stopRbd(def: Def): void {
  looks.forget(keyOf(def));
  usage.delete(keyOf(def));
}

/** Whether the Ceph pool and the namespace exist: NOT_FOUND names which is missing. */
async function missing(p: RbdPlace): Promise<'pool' | 'namespace' | undefined> {
  try {
    await rbdJson(p, ['pool', 'stats', p.pool], `Ceph pool ${p.pool}`);
  } catch (e) {
    if (e instanceof KvmpoolError && e.code === 'NOT_FOUND') return 'pool';
    throw e;
  }
  if (!p.namespace) return undefined;
  const names = await rbdJson<{ name: string }[]>(p, ['namespace', 'ls', '--pool', p.pool], `the namespaces of Ceph pool ${p.pool}`);
  return (names ?? []).some((n) => n.name === p.namespace) ? undefined : 'namespace';
}

/**
 * Makes the Ceph pool (initialised for RBD) and the namespace when the settings ask for it and they
 * are missing; returns what it made (`pool:NAME`, `namespace:POOL/NS`) for `delete`. Without
 * `createPool`, a missing one is NOT_FOUND: kvmpool adopts, it does not make, unless asked.
 */
export async function buildRbd(def: Def, log: (m: string) => void): Promise<string[]> {
  return Reverter.run(log, (r) => makePlace(def, r));
}

async function makePlace(def: Def, r: Reverter): Promise<string[]> {
  const p = placeOf(def);
  const made: string[] = [];
  let gone = await missing(p);
  if (gone !== undefined && !def.source.createPool) throw new KvmpoolError('NOT_FOUND', `${gone === 'pool' ? `Ceph pool ${p.pool}` : `namespace ${placeName(p)}`} does not exist (make it, or define the pool with --create-pool)`, { rbdPool: p.pool, namespace: p.namespace });
  if (gone === 'pool') {
    await cephJson(p, ['osd', 'pool', 'create', p.pool], `Ceph pool ${p.pool}`);
    r.add(`remove Ceph pool ${p.pool}`, () => cephJson(p, ['osd', 'pool', 'rm', p.pool, p.pool, '--yes-i-really-really-mean-it'], `Ceph pool ${p.pool}`));
    made.push(`pool:${p.pool}`);
    await rbd(p, ['pool', 'init', p.pool], `Ceph pool ${p.pool}`);
    gone = p.namespace ? 'namespace' : undefined;
  }
  if (gone === 'namespace') {
    await rbd(p, ['namespace', 'create', '--pool', p.pool, '--namespace', p.namespace!], `namespace ${placeName(p)}`);
    made.push(`namespace:${placeName(p)}`);
  }
  return made;
}

/**
 * Removes what build made (the namespace, then the Ceph pool), each only when it holds no image;
 * never anything build did not make.
 */
export async function deleteRbd(def: Def, created: readonly string[]): Promise<void> {
  const p = placeOf(def);
  const images = (await rbdJson<string[]>(p, ['ls', ...placeArgs(p)], `Ceph pool ${placeName(p)}`).catch(unlessGone([]))) ?? [];
  if (images.length > 0) throw new KvmpoolError('POOL_NOT_EMPTY', `Ceph pool ${placeName(p)} still holds ${images.length} image(s)`, { pool: def.name, images: images.length });
  // Gone already (a delete cut short, or removed by hand): nothing to do.
  if (created.includes(`namespace:${placeName(p)}`)) await rbd(p, ['namespace', 'remove', '--pool', p.pool, '--namespace', p.namespace!], `namespace ${placeName(p)}`).catch(unlessGone(''));
  if (created.includes(`pool:${p.pool}`)) await cephJson(p, ['osd', 'pool', 'rm', p.pool, p.pool, '--yes-i-really-really-mean-it'], `Ceph pool ${p.pool}`).catch(unlessGone(null));
}
