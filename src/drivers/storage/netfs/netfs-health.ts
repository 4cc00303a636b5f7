import { HostCommandError } from '../../../host/exec.js';
import { probeMount, type MountUsage } from '../../../host/netfs.js';
import { HealthLooks, type Health } from '../health-looks.js';

/** How long a look at the mount may take before its server counts as gone. */
export const PROBE_TIMEOUT_MS = 5000;

/** What the last look at a mount found. */
export type MountHealth = Health<MountUsage>;

const looks = new HealthLooks<MountUsage>();

/**
 * Whether the server behind the mount at `target` answers, and the mount's usage. The look runs in a
 * process that is killed after PROBE_TIMEOUT_MS, so no caller waits longer.
 */
export function mountHealth(target: string, server: string): Promise<MountHealth> {
  return looks.health(target, () => probeMount(target, PROBE_TIMEOUT_MS), (e) => failureReason(e, server));
}

/** What the last look at `target` found, however old (undefined: none yet); never looks itself. */
export const lastMountHealth = (target: string): MountHealth | undefined => looks.last(target);

/** Forgets what was found at `target` (a new mount, or none). */
export const forgetMountHealth = (target: string): void => looks.forget(target);

function failureReason(e: unknown, server: string): string {
  if (e instanceof HostCommandError && e.details.timedOut) return `the server ${server} does not answer (no reply within ${PROBE_TIMEOUT_MS / 1000} s)`;
  if (e instanceof HostCommandError) return `the mount cannot be read: ${e.details.stderr.split('\n').at(-1) ?? e.message}`;
  return `the mount cannot be read: ${e instanceof Error ? e.message : String(e)}`;
}
