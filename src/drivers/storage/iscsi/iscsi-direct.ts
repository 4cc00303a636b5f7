import { KvmpoolError, errors } from '../../../model/errors.js';
import { observedElsewhere } from '../../../model/ignore.js';
import type { AccessInfo, VolumeAccess } from '../../../model/access.js';
import type { PoolDefinition, PoolStatus } from '../../../model/pool-types.js';
import type { VolumeFacts } from '../../../model/volume-types.js';
import { HostCommandError } from '../../../host/exec.js';
import { hostInitiatorName, portalText } from '../../../host/iscsi.js';
import { sourceInfo } from '../../../host/qemu-img.js';
import { lunName } from './iscsi-luns.js';
import { portalsOf } from './iscsi-sessions.js';
import type { IscsiSource } from './iscsi-settings.js';

type Def = PoolDefinition<IscsiSource>;

/**
 * Direct pools: qemu reaches the LUNs itself (libiscsi, qemu's `iscsi` block driver), so the host has
 * no session, no node record and no block device of them. Their LUNs are VM disks and copy sources;
 * kvmpool looks at them through `qemu-img info` on the same access a VM gets, each look bounded.
 * Listings answer from the last look (start, refresh); only a look at one LUN goes to the target.
 */

/** How long one look at a LUN may take (an unreachable portal is given up, never waited on). */
const LOOK_TIMEOUT_MS = 15_000;
/** LUN numbers looked at: 0 up to this many missing in a row past the last found (gaps are allowed). */
const GAP = 4;
const MAX_LUN = 255;

/** Whether the pool reaches its LUNs through qemu only. */
export const isDirect = (def: { source: IscsiSource }): boolean => def.source.direct === true;

/**
 * A direct pool's settings: one portal (qemu's iscsi driver has no multipath), one-way CHAP only (it
 * has no mutual CHAP), and the initiator name fixed at define, the host's own unless given: qemu and
 * qemu-img would otherwise each log in under a name of their own making, which no target's ACL knows.
 */
export async function checkDirect(s: IscsiSource): Promise<IscsiSource> {
  if (s.portals.length > 1) throw errors.invalid('a direct pool reaches its target through one portal (qemu has no iSCSI multipath): give one --portal, or leave out --direct');
  if (s.mutualUser !== undefined) throw errors.invalid("a direct pool cannot use mutual CHAP (qemu's iscsi driver has none): leave out --mutual-user, or --direct");
  const initiator = s.initiator ?? (await hostInitiatorName());
  if (!initiator) throw errors.invalid('this host has no initiator name (/etc/iscsi/initiatorname.iscsi): give the pool one with --initiator');
  return { ...s, initiator };
}

/** The pool's one portal, HOST:PORT. */
const portalOf = (def: Def): string => portalText(portalsOf(def)[0]!);

/** LUN `lun` as a volume (its path the iscsi URI qemu would take); `capacity` undefined when it could not be read. */
function lunFacts(def: Def, lun: number, capacity: number | undefined): VolumeFacts {
  const uri = `iscsi://${portalOf(def)}/${def.source.iqn}/${lun}`;
  const size = capacity ?? 0;
  return { name: lunName(lun), path: uri, format: 'raw', capacity: size, allocation: size, identity: `${def.source.iqn}:${lun}`, stamp: `${uri}:${capacity ?? '?'}`, kind: 'direct-lun', ...(capacity === undefined ? { unreadable: true } : {}) };
}

/** How qemu reaches LUN `lun` of the pool: its one portal, as its initiator name, with its CHAP secret's file. */
export function directAccess(def: Def, lun: number): VolumeAccess {
  return {
    kind: 'iscsi',
    portal: portalOf(def),
    target: def.source.iqn,
    lun,
    ...(def.source.initiator ? { initiator: def.source.initiator } : {}),
    ...(def.source.chapUser ? { user: def.source.chapUser, password: { file: def.secrets['chapSecret']! } } : {}),
  };
}

/** A LUN's access for copies and VMs: qemu's iscsi driver (no host page cache), no discards. */
export function directLunAccess(def: Def, vol: VolumeFacts): AccessInfo {
  return { access: directAccess(def, lunNumber(vol.name)), directIO: true, discard: false };
}

const lunNumber = (name: string): number => Number(/^lun-(\d+)$/.exec(name)?.[1] ?? NaN);

/**
 * What a failed `qemu-img info` of a LUN says: `gone` when the target has no such LUN, else the error
 * to answer with (`portal` and `iqn` name what was asked).
 */
export function classifyLook(e: unknown, portal: string, iqn: string): KvmpoolError | 'gone' {
  if (!(e instanceof HostCommandError)) return e instanceof KvmpoolError ? e : new KvmpoolError('HOST_COMMAND_FAILED', String(e));
  // No qemu-img, or the operation cancelled: said as it is.
  if (e.code === 'HOST_TOOL_MISSING' || e.code === 'CANCELLED') return e;
  const { stderr, timedOut } = e.details;
  const details = { portal, stderr };
  const because = (code: ConstructorParameters<typeof KvmpoolError>[0], message: string) => new KvmpoolError(code, message, details, { cause: e });
  if (/LOGICAL_UNIT_NOT_SUPPORTED/.test(stderr)) return 'gone';
  if (timedOut) return because('UNAVAILABLE', `${portal}: the iSCSI portal did not answer in ${LOOK_TIMEOUT_MS / 1000} s`);
  if (/Unknown driver 'iscsi'/.test(stderr)) return because('HOST_TOOL_MISSING', "qemu has no iscsi block driver here (install qemu-block-extra)");
  if (/Authentication failure|Authorization failure/i.test(stderr)) return because('AUTH_FAILED', `${portal}: the target refused the login (initiator name, CHAP user or secret)`);
  if (/Target not found/i.test(stderr)) return because('NOT_FOUND', `${portal} does not offer the target ${iqn}`);
  // libiscsi words a refused or lost connection several ways (`socket error Connection refused(111)`,
  // `iscsi_service failed with : iscsi_service_reconnect_if_loggedin. Can not reconnect right now.`).
  if (/Connection refused|No route|timed out|Network is unreachable|socket error|iscsi_service|Failed to connect to target/i.test(stderr)) return because('UNAVAILABLE', `${portal}: no iSCSI target answered`);
  return because('HOST_COMMAND_FAILED', `${portal}: qemu could not read the LUN: ${stderr.trim().split('\n').pop() ?? ''}`);
}

/** LUN `lun` as a volume; undefined when the target has no such LUN. */
async function lookAt(def: Def, lun: number): Promise<VolumeFacts | undefined> {
  try {
    const info = await sourceInfo({ access: directAccess(def, lun), format: 'raw' }, { timeoutMs: LOOK_TIMEOUT_MS, killGraceMs: 1000 });
    return lunFacts(def, lun, info.virtualSize);
  } catch (e) {
    const why = classifyLook(e, portalOf(def), def.source.iqn);
    if (why === 'gone') return undefined;
    throw why;
  }
}

/** The last look of a pool: its LUNs, or why it failed. */
interface Look {
  luns: VolumeFacts[];
  error?: KvmpoolError;
}

/** Looks by pool and target (a pool defined again on another target does not see the old look). */
const looks = new Map<string, Look>();
const keyOf = (def: Def) => [def.name, def.source.iqn, def.source.portals[0], def.source.initiator ?? ''].join('\0');

/**
 * Looks at the target's LUNs and keeps what it saw. LUN 0 answers for the target (a login refused,
 * no portal, no such target: AUTH_FAILED, UNAVAILABLE, NOT_FOUND); other LUN numbers are looked at
 * until GAP in a row are missing. A LUN that fails otherwise is listed unreadable.
 */
export async function lookAtLuns(def: Def): Promise<VolumeFacts[]> {
  try {
    const luns: VolumeFacts[] = [];
    const first = await lookAt(def, 0);
    if (first) luns.push(first);
    for (let lun = 1, missing = first ? 0 : 1; lun <= MAX_LUN && missing < GAP; lun++) {
      const v = await lookAt(def, lun).catch((e: unknown) => {
        if (e instanceof KvmpoolError && (e.code === 'AUTH_FAILED' || e.code === 'UNAVAILABLE')) throw e;
        return lunFacts(def, lun, undefined);
      });
      missing = v ? 0 : missing + 1;
      if (v) luns.push(v);
    }
    looks.set(keyOf(def), { luns });
    return luns;
  } catch (e) {
    const error = e instanceof KvmpoolError ? e : new KvmpoolError('HOST_COMMAND_FAILED', String(e));
    looks.set(keyOf(def), { luns: looks.get(keyOf(def))?.luns ?? [], error });
    throw error;
  }
}


/** The LUNs of the last look (never a look of its own: a listing does not go to the target). */
export function directLuns(def: Def): VolumeFacts[] {
  const look = looks.get(keyOf(def));
  if (!look || look.error) throw unusable(def, look);
  return look.luns;
}

/** One LUN, looked at now (bounded): its size as the target says before a copy or a VM uses it. */
export async function directLun(def: Def, name: string): Promise<VolumeFacts> {
  const lun = lunNumber(name);
  const v = Number.isInteger(lun) ? await lookAt(def, lun) : undefined;
  if (!v) throw errors.notFound('volume', `${def.name}/${name}`);
  return v;
}

/**
 * The periodic care of a running direct pool: the target is asked again (LUN 0, bounded) so a target
 * gone makes the pool degraded; a degraded pool's LUNs are looked at again, so it recovers by itself.
 */
export async function careForDirect(def: Def): Promise<void> {
  const look = looks.get(keyOf(def));
  if (!look || look.error) {
    // A failed look is kept as the pool's reason (its status says it).
    await lookAtLuns(def).catch(observedElsewhere);
    return;
  }
  try {
    await lookAt(def, 0);
  } catch (e) {
    // A LUN 0 that fails on its own (not the login or the link) says nothing of the target.
    if (e instanceof KvmpoolError && (e.code === 'UNAVAILABLE' || e.code === 'AUTH_FAILED' || e.code === 'NOT_FOUND')) looks.set(keyOf(def), { ...look, error: e });
  }
}

/** Forgets the pool's last look (it stopped). */
export function forgetLuns(def: Def): void {
  looks.delete(keyOf(def));
}

/** A direct pool's status: from its last look, degraded (and not usable) while the target could not be looked at. */
export function directStatus(def: Def): PoolStatus {
  const look = looks.get(keyOf(def));
  if (!look || look.error) return { state: 'degraded', reason: unusable(def, look).message, capacity: 0, allocation: 0, available: 0 };
  const capacity = look.luns.reduce((n, v) => n + v.capacity, 0);
  return { state: 'running', capacity, allocation: capacity, available: 0 };
}

function unusable(def: Def, look: Look | undefined): KvmpoolError {
  if (look?.error) return new KvmpoolError('UNAVAILABLE', `the last look at ${def.source.iqn} failed: ${look.error.message} (pool start looks again; the periodic care too)`, { pool: def.name });
  return new KvmpoolError('UNAVAILABLE', `${def.source.iqn} has not been looked at since the daemon started (pool start looks)`, { pool: def.name });
}
