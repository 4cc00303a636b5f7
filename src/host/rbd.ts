import { KvmpoolError, type ErrorCode } from '../model/errors.js';
import { HostCommandError, run, type ExecOptions } from './exec.js';

/**
 * The `rbd` tool against one Ceph cluster. Every call names its monitors, user and key file on the
 * command line (the key itself stays in its 0600 file) and reads no ceph.conf, so the host's own
 * /etc/ceph never changes what a pool reaches. Each call is bounded: a cluster that does not answer
 * is given up, never waited on.
 */

/** How to reach a cluster as one user. */
export interface RbdConnection {
  monitors: readonly string[];
  user: string;
  /** A file (0600) holding the user's key, base64 as `ceph auth get-key` prints it. */
  keyFile: string;
}

/** An RBD pool (and namespace) of a cluster, where images are named. */
export interface RbdPlace extends RbdConnection {
  pool: string;
  namespace?: string;
}

/** Seconds a call waits for the monitors before it fails (librados would wait 300 s). */
export const CONNECT_TIMEOUT_S = 10;
/** Seconds one request to the monitors or an OSD may take (a full pool blocks writes: they fail instead). */
export const OP_TIMEOUT_S = 30;

/**
 * A bound for calls whose time grows with the image (rm, flatten, rollback, transfers): what bounds a
 * cluster that stops answering is OP_TIMEOUT_S per request, not the whole call.
 */
export const LONG_CALL_MS = 24 * 3600_000;

/** The options every call gets: where the cluster is, who we are, and the time limits. */
export function connectionArgs(c: RbdConnection): string[] {
  return [
    ...whoAndWhere(c),
    ...['--client-mount-timeout', String(CONNECT_TIMEOUT_S), '--rados-mon-op-timeout', String(OP_TIMEOUT_S), '--rados-osd-op-timeout', String(OP_TIMEOUT_S)],
  ];
}

/** The cluster (no ceph.conf of the host) and the user with its key file: what every Ceph tool takes. */
export const whoAndWhere = (c: RbdConnection): string[] => ['--conf', '/dev/null', '-m', c.monitors.join(','), '--id', c.user, '--keyfile', c.keyFile];

/** `pool[/namespace]/image` (with `@snapshot`), as the rbd tool names an image. */
export function imageSpec(p: RbdPlace, image: string, snapshot?: string): string {
  return `${p.pool}/${p.namespace ? `${p.namespace}/` : ''}${image}${snapshot !== undefined ? `@${snapshot}` : ''}`;
}

/** The pool and namespace options of commands that take them (`ls`, `du`, `trash ls`). */
export function placeArgs(p: RbdPlace): string[] {
  return ['--pool', p.pool, ...(p.namespace ? ['--namespace', p.namespace] : [])];
}

/**
 * What a failed call says, as a stable code (`what` names the object asked about, for messages). A
 * wrong key shows as the monitor refusing the method (then the connect time runs out); no monitor as
 * the time running out alone.
 */
export function classifyRbd(e: unknown, what: string): unknown {
  if (!(e instanceof HostCommandError)) return e;
  redactKeys(e);
  if (e.code === 'HOST_COMMAND_TIMEOUT') return new KvmpoolError('UNAVAILABLE', `the Ceph cluster did not answer about ${what} in time`, { stderr: lastLine(e.details.stderr) });
  if (e.code !== 'HOST_COMMAND_FAILED') return e;
  const stderr = e.details.stderr;
  const because = (code: ErrorCode, message: string) => new KvmpoolError(code, message, { stderr: lastLine(stderr) }, { cause: e });
  if (/failed to decode key/.test(stderr)) return because('AUTH_FAILED', 'the key is not a cephx key (base64, as `ceph auth get-key` prints it)');
  if (/handle_auth_bad_method/.test(stderr)) return because('AUTH_FAILED', 'the Ceph monitors refused the user or its key');
  if (/\(1\) Operation not permitted|\(13\) Permission denied|EACCES/.test(stderr)) return because('AUTH_FAILED', `the Ceph user may not use ${what} (its caps)`);
  if (/authenticate timed out|couldn't connect to the cluster|\(110\) Connection timed out|\(111\) Connection refused/.test(stderr)) return because('UNAVAILABLE', `no Ceph monitor answered about ${what}`);
  if (/\(28\) No space left on device|\(122\) Disk quota exceeded/.test(stderr)) return because('NO_SPACE', `the Ceph pool has no room for ${what}`);
  if (/\(17\) File exists/.test(stderr)) return because('ALREADY_EXISTS', `${what} already exists`);
  if (/\(2\) No such file or directory/.test(stderr)) return because('NOT_FOUND', `${what} not found`);
  if (/\(16\) Device or resource busy/.test(stderr)) return because('IN_USE', `${what} is in use`);
  return e;
}

/** librados prints a key it cannot decode: it never goes further than here. */
function redactKeys(e: HostCommandError): void {
  const clean = e.details.stderr.replace(/(decode key ')[^']*'/g, "$1(not shown)'");
  Object.assign(e.details, { stderr: clean });
  e.message = e.message.replace(/(decode key ')[^']*'/g, "$1(not shown)'");
}

const lastLine = (text: string): string => text.trim().split('\n').pop() ?? '';

/** For `.catch`: a call whose object is gone (NOT_FOUND) gives `value`; any other failure stays one. */
export const unlessGone =
  <T>(value: T) =>
  (e: unknown): T => {
    if (e instanceof KvmpoolError && e.code === 'NOT_FOUND') return value;
    throw e;
  };

/** Runs `rbd` with the connection's options; failures come back classified (see classifyRbd). */
export async function rbd(c: RbdConnection, args: readonly string[], what: string, options: ExecOptions = {}): Promise<string> {
  try {
    return (await run('rbd', [...connectionArgs(c), ...args], { timeoutMs: (CONNECT_TIMEOUT_S + OP_TIMEOUT_S) * 1000 + 5000, ...options })).stdout;
  } catch (e) {
    throw classifyRbd(e, what);
  }
}

/** Runs `rbd ... --format json` and parses what it printed. */
export async function rbdJson<T>(c: RbdConnection, args: readonly string[], what: string, options?: ExecOptions): Promise<T> {
  const out = await rbd(c, [...args, '--format', 'json'], what, options);
  return JSON.parse(out.trim() === '' ? 'null' : out) as T;
}

/** One snapshot of `rbd snap ls --format json`. */
export interface RbdSnapshot {
  id: number;
  name: string;
  size: number;
  protected: string;
  timestamp: string;
  namespace?: { type: string; original_name?: string };
}

/** Ceph's time stamps (`Sat Nov 21 14:50:30 2026`, local time of the cluster) as ISO 8601; undefined when unreadable. */
export function cephTime(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const t = new Date(text);
  return Number.isNaN(t.getTime()) ? undefined : t.toISOString();
}

/** Runs the `ceph` tool (cluster-wide questions: usage, pools) as the connection's user; JSON out, failures classified. */
export async function cephJson<T>(c: RbdConnection, args: readonly string[], what: string): Promise<T> {
  // Its own connect bound as well as librados's: without the op bounds, a cluster that goes away after the connect is waited on for ever.
  const conn = [...connectionArgs(c), '--connect-timeout', String(CONNECT_TIMEOUT_S)];
  try {
    const { stdout } = await run('ceph', [...conn, ...args, '--format', 'json'], { timeoutMs: (CONNECT_TIMEOUT_S + OP_TIMEOUT_S) * 1000 });
    return JSON.parse(stdout.trim() === '' ? 'null' : stdout) as T;
  } catch (e) {
    throw classifyRbd(e, what);
  }
}
