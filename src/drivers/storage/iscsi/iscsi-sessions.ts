import { KvmpoolError } from '../../../model/errors.js';
import type { PoolDefinition } from '../../../model/pool-types.js';
import { Reverter } from '../../../model/reverter.js';
import * as iscsi from '../../../host/iscsi.js';
import type { OpContext } from '../driver.js';
import type { IscsiSource } from './iscsi-settings.js';

type Def = PoolDefinition<IscsiSource>;

/** How long the kernel may take to show a new session's LUNs as block devices. */
const LUNS_WAIT_MS = 15_000;

/** The interface record a pool logs in through when it has an initiator name of its own. */
export const ifaceOf = (def: Def): string | undefined => (def.source.initiator ? `kvmpool-${def.name}` : undefined);

export const portalsOf = (def: Def): iscsi.Portal[] => def.source.portals.map(iscsi.parsePortal);

/** The host's sessions with the pool's target through its portals, in the order of its portals. */
export async function poolSessions(def: Def): Promise<iscsi.IscsiSession[]> {
  const all = (await iscsi.iscsiSessions()).filter((s) => s.target === def.source.iqn);
  return portalsOf(def).flatMap((p) => all.filter((s) => s.portal.host === p.host && s.portal.port === p.port));
}

/**
 * Logs in to the target at every portal that has no session yet: the target must be offered there
 * (sendtargets, NOT_FOUND otherwise), each node record is made with short timeouts and CHAP, then
 * logged in. On a failure everything this call did is undone (logins, records, the interface).
 */
export async function loginAll(def: Def, ctx: OpContext): Promise<void> {
  const present = await poolSessions(def);
  const missing = portalsOf(def).filter((p) => !present.some((s) => s.portal.host === p.host && s.portal.port === p.port));
  if (missing.length === 0) return;
  const iface = ifaceOf(def);
  const chap = def.source.chapUser
    ? { user: def.source.chapUser, secretFile: def.secrets['chapSecret']!, ...(def.source.mutualUser ? { mutualUser: def.source.mutualUser, mutualSecretFile: def.secrets['mutualSecret']! } : {}) }
    : undefined;
  await Reverter.run(ctx.log, async (r) => {
    if (iface && present.length === 0) {
      await iscsi.removeIface(iface);
      await iscsi.makeIface(iface, def.source.initiator!);
      r.add(`remove interface record ${iface}`, () => iscsi.removeIface(iface));
    }
    for (const p of missing) {
      const offered = await iscsi.sendTargets(p, 20_000);
      if (!offered.some((t) => t.target === def.source.iqn)) {
        const names = [...new Set(offered.map((t) => t.target))];
        throw new KvmpoolError('NOT_FOUND', `${iscsi.portalText(p)} offers no target ${def.source.iqn}${names.length ? ` (it offers ${names.join(', ')})` : ''}`, { portal: iscsi.portalText(p), offered: names });
      }
      r.add(`remove the node record of ${iscsi.portalText(p)}`, () => iscsi.removeNode(def.source.iqn, p, iface));
      await iscsi.makeNode(def.source.iqn, p, iface, chap);
      r.add(`log out of ${iscsi.portalText(p)}`, () => iscsi.logout(def.source.iqn, p, iface));
      ctx.log(`logging in to ${def.source.iqn} at ${iscsi.portalText(p)}`);
      await iscsi.login(def.source.iqn, p, iface);
    }
    await waitForLuns(def);
  });
}

/** Logs out of every session of the pool and removes its node records and interface record. */
export async function logoutAll(def: Def): Promise<void> {
  const iface = ifaceOf(def);
  for (const p of portalsOf(def)) {
    await iscsi.logout(def.source.iqn, p, iface);
    await iscsi.removeNode(def.source.iqn, p, iface);
  }
  if (iface) await iscsi.removeIface(iface);
}

/** Waits until every LUN of the pool's sessions has its block device, and their number holds still for a moment. */
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
