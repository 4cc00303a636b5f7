import { HostCommandError } from '../../../host/exec.js';
import { probeMount, type MountUsage } from '../../../host/netfs.js';

/** How long a look at the mount may take before its server counts as gone. */
export const PROBE_TIMEOUT_MS = 5000;
/** How long an answer stays good: operations in a burst share one look. */
const FRESH_MS = 2000;

/** What the last look at a mount found. */
export type MountHealth = { ok: true; usage: MountUsage } | { ok: false; reason: string };

interface Looks {
  at: number;
  last?: MountHealth;
  looking?: Promise<MountHealth>;
}

const byTarget = new Map<string, Looks>();

/**
 * Whether the server behind the mount at `target` answers, and the mount's usage. The look runs in a
 * process that is killed after PROBE_TIMEOUT_MS, so no caller waits longer; while the server is known
 * to be gone, callers get that at once and a look in the background says when it is back.
 */
export async function mountHealth(target: string, server: string): Promise<MountHealth> {
  let looks = byTarget.get(target);
  if (!looks) byTarget.set(target, (looks = { at: 0 }));
  if (looks.last && performance.now() - looks.at < FRESH_MS) return looks.last;
  if (!looks.looking) {
    const l = looks;
    l.looking = probeMount(target, PROBE_TIMEOUT_MS)
      .then(
        (usage): MountHealth => ({ ok: true, usage }),
        (e: unknown): MountHealth => ({ ok: false, reason: failureReason(e, server) }),
      )
      .then((h) => {
        l.last = h;
        l.at = performance.now();
        l.looking = undefined;
        return h;
      });
  }
  if (looks.last && !looks.last.ok) return looks.last;
  return looks.looking!;
}

/** What the last look at `target` found, however old (undefined: none yet); never looks itself. */
export function lastMountHealth(target: string): MountHealth | undefined {
  return byTarget.get(target)?.last;
}

/** Forgets what was found at `target` (a new mount, or none). */
export function forgetMountHealth(target: string): void {
  byTarget.delete(target);
}

function failureReason(e: unknown, server: string): string {
  if (e instanceof HostCommandError && e.details.timedOut) return `the server ${server} does not answer (no reply within ${PROBE_TIMEOUT_MS / 1000} s)`;
  if (e instanceof HostCommandError) return `the mount cannot be read: ${e.details.stderr.split('\n').at(-1) ?? e.message}`;
  return `the mount cannot be read: ${e instanceof Error ? e.message : String(e)}`;
}
