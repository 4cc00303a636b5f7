import { KvmpoolError } from '../../../model/errors.js';
import { absent } from '../../../model/ignore.js';
import * as lvm from '../../../host/lvm.js';
import { leaseHolder, lvmlockdRuns } from '../../../host/sanlock.js';
import { vgOf } from './logical-names.js';
import type { LogicalDefinition } from './logical-settings.js';

/**
 * A VG shared by hosts on one SAN LUN (`shared`), locked with lvmlockd and sanlock: each host joins
 * its lockspace when the pool starts and leaves it when the pool stops. An LV is active on one host
 * at a time (exclusive activation takes its lock): inactive until it is used here (`claimLv`), and
 * inactive again after (`releaseLv`). Another host's activation is refused by LVM ("LV locked by
 * other host"), said here as IN_USE naming the host that holds it.
 */

/** Why a shared pool has no thin pool or thin volumes. */
export const SHARED_THIN = "a thin pool in a shared volume group can be active on only one host at a time (LVM's rule): shared pools use linear, striped or raid1 LVs";

export const isShared = (def: LogicalDefinition): boolean => def.source.shared === true;

/** UNAVAILABLE unless lvmlockd runs here (it locks shared VGs through sanlock). */
export async function requireLockd(): Promise<void> {
  if (await lvmlockdRuns()) return;
  throw new KvmpoolError(
    'UNAVAILABLE',
    'lvmlockd does not run on this host: a shared pool needs lvmlockd and sanlock (packages lvm2-lockd and sanlock, use_lvmlockd = 1 in lvm.conf, a host_id of its own in lvmlocal.conf)',
  );
}

/** Joins the VG's lockspace on this host (a no-op when it has joined already). */
export async function joinLockspace(def: LogicalDefinition): Promise<void> {
  await requireLockd();
  await lvm.lockStart(vgOf(def));
}

/** Runs `work`; an LV locked by another host is IN_USE naming that host (as sanlock knows it). */
export async function namingHolder<T>(def: LogicalDefinition, name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (!(e instanceof KvmpoolError && e.code === 'IN_USE' && e.details?.['lv'] !== undefined)) throw e;
    const vg = vgOf(def);
    const offset = await lvm.lockOffset(vg, name).catch(absent);
    const holder = offset === undefined ? undefined : await leaseHolder(vg, offset).catch(absent);
    if (!holder) throw e;
    const host = holder.name ?? `host_id ${holder.hostId}`;
    throw new KvmpoolError('IN_USE', `${vg}/${name} is active on host ${host} (sanlock host_id ${holder.hostId}): it is used there`, { lv: name, host, hostId: holder.hostId }, { cause: e });
  }
}

/** Activates the LV on this host alone, unless it is active here already; true when this call activated it. */
export async function claimLv(def: LogicalDefinition, name: string): Promise<boolean> {
  const lv = (await lvm.lvs(vgOf(def))).find((l) => l.name === name);
  if (lv?.active) return false;
  await namingHolder(def, name, () => lvm.activateLv(vgOf(def), name, 'exclusive'));
  return true;
}

/** Deactivates the LV on this host (its lock is released: another host may use it); an open LV stays active. */
export async function releaseLv(def: LogicalDefinition, name: string): Promise<void> {
  const lv = (await lvm.lvs(vgOf(def))).find((l) => l.name === name);
  if (!lv?.active || lv.open) return;
  await lvm.activateLv(vgOf(def), name, false);
}
