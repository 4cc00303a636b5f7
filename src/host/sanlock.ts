import { run } from './exec.js';
import { absent } from '../model/ignore.js';

/**
 * Who holds a lock of a shared VG, read from sanlock itself: `sanlock direct dump` reads the lease
 * on the VG's lock LV (its owner is a host_id; a timestamp of 0 means nobody holds it), and
 * `sanlock client host_status -D` gives the names the lockspace's hosts joined with.
 */

const TIMEOUT = 30_000;

/** The device of a VG's lock LV (device-mapper doubles the dashes of VG names). */
export const lockDevice = (vg: string): string => `/dev/mapper/${vg.replace(/-/g, '--')}-lvmlock`;

/** The lockspace lvmlockd makes for a VG. */
export const lockspaceOf = (vg: string): string => `lvm_${vg}`;

/** Parses `sanlock direct dump` of one lease: its owner's host_id while the lease is held, else undefined. */
export function parseLeaseOwner(dump: string): number | undefined {
  // offset  lockspace  resource  timestamp  own  gen  lver
  const row = dump.split('\n').find((l) => /^\d{8,}\s/.test(l));
  if (!row) return undefined;
  const [, , , timestamp, own] = row.trim().split(/\s+/);
  return Number(timestamp) > 0 && Number(own) > 0 ? Number(own) : undefined;
}

/** Parses `sanlock client host_status -D`: the name each host_id joined the lockspace with. */
export function parseHostNames(status: string): Map<number, string> {
  const names = new Map<number, string>();
  let id: number | undefined;
  for (const line of status.split('\n')) {
    const host = /^(\d+) timestamp/.exec(line);
    if (host) id = Number(host[1]);
    const name = /^\s+owner_name=(\S+)/.exec(line);
    if (name && id !== undefined) names.set(id, name[1]!);
  }
  return names;
}

/** The host holding the lease at `offset` of the VG's lock LV: its host_id and the name it joined with. */
export async function leaseHolder(vg: string, offset: number): Promise<{ hostId: number; name?: string } | undefined> {
  const { stdout } = await run('sanlock', ['direct', 'dump', `${lockDevice(vg)}:${offset}:1048576`], { timeoutMs: TIMEOUT });
  const hostId = parseLeaseOwner(stdout);
  if (hostId === undefined) return undefined;
  const status = await run('sanlock', ['client', 'host_status', '-s', lockspaceOf(vg), '-D'], { timeoutMs: TIMEOUT }).catch(absent);
  const name = status ? parseHostNames(status.stdout).get(hostId) : undefined;
  return { hostId, ...(name !== undefined ? { name } : {}) };
}

/** Whether lvmlockd answers on this host (a shared VG needs it, with sanlock). */
export async function lvmlockdRuns(): Promise<boolean> {
  return run('lvmlockctl', ['--info'], { timeoutMs: TIMEOUT }).then(
    () => true,
    () => false,
  );
}
