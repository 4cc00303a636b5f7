import { createHash } from 'node:crypto';
import { KvmpoolError } from '../../../model/errors.js';
import type { PoolDefinition } from '../../../model/pool-types.js';
import { Reverter } from '../../../model/reverter.js';
import * as iscsi from '../../../host/iscsi.js';
import { HostCommandError } from '../../../host/exec.js';
import type { OpContext } from '../driver.js';
import { usesMultipath, type IscsiSource } from './iscsi-settings.js';

type Def = PoolDefinition<IscsiSource>;

/** Seconds a lost session of a multipath pool holds its I/O before the map fails over. */
const MULTIPATH_REPLACEMENT_S = 15;
/** How long the kernel may take to show a new session's disks as block devices. */
const LUNS_WAIT_MS = 15_000;

/**
 * The interface record the pool logs in through, `kvmpool-POOL`: its node records and sessions are
 * the pool's, never an administrator's (open-iscsi takes interface names up to 64 characters).
 */
export function ifaceOf(def: Def): string {
  const name = `kvmpool-${def.name}`;
  return name.length <= 64 ? name : `${name.slice(0, 47)}-${createHash('sha256').update(def.name).digest('hex').slice(0, 16)}`;
}

/** The pool's portals, parsed. */
export const portalsOf = (def: Def): iscsi.Portal[] => def.source.portals.map(iscsi.parsePortal);

const samePortal = (a: iscsi.Portal, b: iscsi.Portal) => a.host === b.host && a.port === b.port;

/** The pool's sessions (its target, through its interface record), in the order of its portals. */
export async function poolSessions(def: Def): Promise<iscsi.IscsiSession[]> {
  const iface = ifaceOf(def);
  const all = (await iscsi.iscsiSessions()).filter((s) => s.target.toLowerCase() === def.source.iqn.toLowerCase() && s.iface === iface);
  return portalsOf(def).flatMap((p) => all.filter((s) => samePortal(s.portal, p)));
}

/** The pool's sessions that work now (logged in, not failed and being retried by iscsid). */
export async function liveSessions(def: Def): Promise<iscsi.IscsiSession[]> {
  return (await poolSessions(def)).filter((s) => s.state === 'LOGGED_IN');
}

/**
 * Logs in to the target at every portal that has no session yet, through the pool's interface record:
 * the target must be offered there (sendtargets; NOT_FOUND otherwise, unless the portal wants CHAP for
 * discovery too: then the login says), each node record is made with short timeouts and CHAP, then
 * logged in. On a failure everything this call did is undone (logins, records, the interface record).
 */
export async function loginAll(def: Def, ctx: OpContext): Promise<void> {
  const present = await poolSessions(def);
  const missing = portalsOf(def).filter((p) => !present.some((s) => samePortal(s.portal, p)));
  if (missing.length === 0) return;
  const iface = ifaceOf(def);
  const chap = def.source.chapUser
    ? { user: def.source.chapUser, secretFile: def.secrets['chapSecret']!, ...(def.source.mutualUser ? { mutualUser: def.source.mutualUser, mutualSecretFile: def.secrets['mutualSecret']! } : {}) }
    : undefined;
  await Reverter.run(ctx.log, async (r) => {
    if (present.length === 0) {
      await iscsi.removeIface(iface);
      r.add(`remove interface record ${iface}`, () => iscsi.removeIface(iface));
      await iscsi.makeIface(iface, def.source.initiator);
    }
    for (const p of missing) {
      const offered = await iscsi.sendTargets(p, 20_000, iface).catch((e: unknown) => {
        if (e instanceof KvmpoolError && e.code === 'AUTH_FAILED') return undefined;
        throw e;
      });
      if (offered && !offered.some((t) => t.target.toLowerCase() === def.source.iqn.toLowerCase())) {
        const names = [...new Set(offered.map((t) => t.target))];
        throw new KvmpoolError('NOT_FOUND', `${iscsi.portalText(p)} offers no target ${def.source.iqn}${names.length ? ` (it offers ${names.join(', ')})` : ''}`, { portal: iscsi.portalText(p), offered: names });
      }
      await iscsi.assertNoForeignNode(def.source.iqn, p, iface);
      r.add(`remove the node record of ${iscsi.portalText(p)}`, () => iscsi.removeNode(def.source.iqn, p, iface));
      // Through a multipath map, a lost path should fail over in seconds, not after open-iscsi's 120.
      await iscsi.makeNode(def.source.iqn, p, iface, chap, usesMultipath(def) ? MULTIPATH_REPLACEMENT_S : undefined);
      r.add(`log out of ${iscsi.portalText(p)}`, () => iscsi.logout(def.source.iqn, p, iface));
      ctx.log(`logging in to ${def.source.iqn} at ${iscsi.portalText(p)}`);
      await iscsi.login(def.source.iqn, p, iface);
    }
    await waitForLuns(def);
  });
}

/** When a pool's last failed attempt to log in again through its lost portals was (at most one a minute). */
const rejoinFailed = new Map<string, number>();
const REJOIN_EVERY_MS = 60_000;
/** Since when a pool has lost portals: they are logged in to again once gone this long (not in the middle of a login or a logout). */
const missingSince = new Map<string, number>();
const REJOIN_AFTER_MS = 30_000;

/**
 * Logs in again through the pool's portals that have had no session for 30 s (logged out behind the
 * pool's back, or lost for good): the pool is made whole without a stop and a start. A portal that still does
 * not answer is tried again a minute later; what a failed attempt made is undone (loginAll). Says
 * whether it logged in.
 */
export async function rejoinPortals(def: Def): Promise<boolean> {
  const present = await poolSessions(def);
  if (present.length === portalsOf(def).length) {
    missingSince.delete(def.name);
    return false;
  }
  const now = performance.now();
  if (!missingSince.has(def.name)) missingSince.set(def.name, now);
  if (now - missingSince.get(def.name)! < REJOIN_AFTER_MS || now - (rejoinFailed.get(def.name) ?? -Infinity) < REJOIN_EVERY_MS) return false;
  try {
    await loginAll(def, { signal: new AbortController().signal, log: () => {}, progress: () => {} });
    rejoinFailed.delete(def.name);
    missingSince.delete(def.name);
    return true;
  } catch (e) {
    rejoinFailed.set(def.name, performance.now());
    throw e;
  }
}

/**
 * Logs out of every session of the pool and removes its node records and interface record, each
 * portal tried whatever the others did (a dead target's logout must not keep the rest, and its
 * secrets, behind). Harmless when there is nothing: it also cleans up after a start cut short.
 */
export async function logoutAll(def: Def): Promise<void> {
  const iface = ifaceOf(def);
  const failures: unknown[] = [];
  const attempt = async (work: () => Promise<void>) => work().catch((e: unknown) => void failures.push(e));
  for (const p of portalsOf(def)) {
    await attempt(() => iscsi.logout(def.source.iqn, p, iface));
    await attempt(() => iscsi.removeNode(def.source.iqn, p, iface));
  }
  await attempt(() => iscsi.removeIface(iface));
  if (failures.length > 0) throw failures[0] instanceof HostCommandError || failures[0] instanceof KvmpoolError ? failures[0] : new KvmpoolError('HOST_COMMAND_FAILED', String(failures[0]));
}

/** Rescans the pool's working sessions: LUNs added or grown on the target show up. */
export async function rescanAll(def: Def): Promise<void> {
  for (const s of await liveSessions(def)) await iscsi.rescan(s.sid);
}

/** Waits until every disk of the pool's sessions has its block device, and their number holds still for a moment. */
async function waitForLuns(def: Def): Promise<void> {
  const started = performance.now();
  let last = '';
  for (;;) {
    const sessions = await poolSessions(def);
    const now = JSON.stringify(sessions.map((s) => s.luns));
    const ready = sessions.every((s) => s.luns.every((l) => l.device !== undefined));
    if (ready && now === last) return;
    if (performance.now() - started > LUNS_WAIT_MS) return;
    last = now;
    await new Promise((r) => setTimeout(r, 300));
  }
}
