import { appendFile, chmod, readdir, readFile, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { KvmpoolError, errors } from '../model/errors.js';
import { absent, fallback } from '../model/ignore.js';
import { HostCommandError, run } from './exec.js';
import { malformed } from './tool-output.js';
import { disksUnder } from './scsi.js';

/**
 * iSCSI sessions through open-iscsi (iscsiadm and iscsid), and what the kernel shows of them in sysfs.
 * Node records are made one per portal for the target (no discovery records are written); a CHAP secret
 * goes into the record file itself (root's, mode 0600), never onto iscsiadm's command line.
 */

/** Where open-iscsi keeps its node records (Debian; RHEL and SUSE): nodes/TARGET/ADDRESS,PORT[,TPGT][/IFACE]. */
const NODE_DIRS = ['/etc/iscsi/nodes', '/var/lib/iscsi/nodes'];
const ISCSIADM_TIMEOUT_MS = 30_000;
/** A login gives up after this (open-iscsi's default retries for two minutes). */
const LOGIN_TIMEOUT_S = 10;

/** A portal: an address (a host name, IPv4, or IPv6 without brackets) and a TCP port. */
export interface Portal {
  host: string;
  port: number;
}

/** `H`, `H:P`, `[v6]` or `[v6]:P` as a portal; INVALID_ARGUMENT for anything else (a shell character, an option). */
export function parsePortal(text: string): Portal {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})))(?::(\d{1,5}))?$/.exec(text);
  const port = m?.[3] === undefined ? 3260 : Number(m[3]);
  if (!m || port < 1 || port > 65535) throw errors.invalid(`portal '${text}' is not HOST[:PORT] (an IPv6 address in brackets)`, { portal: text });
  return { host: m[1] ?? m[2]!, port };
}

/** The portal as iscsiadm takes it: `10.0.0.1:3260`, `[fd00::1]:3260`. */
export function portalText(p: Portal): string {
  return `${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`;
}

/** An iSCSI name: iqn.YYYY-MM.reversed.domain[:anything], eui.16 hex digits, or naa.16 or 32 hex digits. */
export function checkIscsiName(name: string, what: string): string {
  if (/^iqn\.\d{4}-\d{2}\.[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[A-Za-z0-9.:_-]+)?$/.test(name) && name.length <= 223) return name;
  if (/^eui\.[0-9A-Fa-f]{16}$/.test(name) || /^naa\.(?:[0-9A-Fa-f]{16}|[0-9A-Fa-f]{32})$/.test(name)) return name;
  throw errors.invalid(`${what} '${name}' is not an iSCSI name (iqn.YYYY-MM.domain:name, eui. or naa.)`, { [what]: name });
}

/** Parses sendtargets discovery: `127.0.0.1:3260,1 iqn.2024-01.test:t1` per line (portal, group, target). */
export function parseSendTargets(text: string): { portal: string; target: string }[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const m = /^(\S+),-?\d+\s+(\S+)$/.exec(l.trim());
      if (!m) throw malformed('iscsiadm', 'a discovered target that does not parse', l);
      return { portal: m[1]!, target: m[2]! };
    });
}

/** What a failed iscsiadm run means (its exit codes are open-iscsi's ISCSI_ERR_*). */
export function classifyIscsiError(e: unknown, portal: string): unknown {
  if (!(e instanceof HostCommandError)) return e;
  const { exitCode, stderr, timedOut } = e.details;
  const details = { portal, stderr };
  if (timedOut) return new KvmpoolError('UNAVAILABLE', `${portal}: the iSCSI portal did not answer in time`, details, { cause: e });
  // 24: ISCSI_ERR_LOGIN_AUTH_FAILED
  if (exitCode === 24) return new KvmpoolError('AUTH_FAILED', `${portal}: the target refused the login (CHAP user or secret)`, details, { cause: e });
  // 19: ISCSI_ERR_FATAL_LOGIN. The target was offered (sendtargets) before the login, so what is left is
  // the security negotiation: the kernel logs "Security negotiation failed" when mutual CHAP fails.
  if (exitCode === 19) return new KvmpoolError('AUTH_FAILED', `${portal}: the login failed for good (CHAP: the target could not prove itself with the mutual secret, or refused ours)`, details, { cause: e });
  // 20: ISCSI_ERR_ISCSID_NOTCONN
  if (exitCode === 20) return new KvmpoolError('UNAVAILABLE', 'iscsid is not running (start the iscsid service)', details, { cause: e });
  // 4: ISCSI_ERR_TRANS, 8: ISCSI_ERR_TRANS_TIMEOUT, 11: ISCSI_ERR_PDU_TIMEOUT
  if (exitCode === 4 || exitCode === 8 || exitCode === 11 || /Connection refused|No route|timed out|cannot make connection/i.test(stderr)) {
    return new KvmpoolError('UNAVAILABLE', `${portal}: no iSCSI target answered`, details, { cause: e });
  }
  return e;
}

async function iscsiadm(args: string[], portal: string, timeoutMs = ISCSIADM_TIMEOUT_MS): Promise<string> {
  const { stdout } = await run('iscsiadm', args, { timeoutMs, killGraceMs: 1000 }).catch((e: unknown) => {
    throw classifyIscsiError(e, portal);
  });
  return stdout;
}

/** The targets a portal offers (sendtargets, as `iface` when given), without writing discovery records. */
export async function sendTargets(p: Portal, timeoutMs = ISCSIADM_TIMEOUT_MS, iface?: string): Promise<{ portal: string; target: string }[]> {
  const args = ['-m', 'discovery', '-t', 'sendtargets', '-p', portalText(p), ...(iface ? ['-I', iface] : []), '-o', 'nonpersistent'];
  return iscsiadm(args, portalText(p), timeoutMs).then(parseSendTargets, (e: unknown) => {
    // 21: ISCSI_ERR_NO_OBJS_FOUND (`No portals found`): the portal offers nothing.
    if (e instanceof HostCommandError && e.details.exitCode === 21) return [];
    throw e;
  });
}

/** CHAP settings of a login: one-way (`user`, `secretFile`) and, for mutual CHAP, the target's (`mutualUser`, `mutualSecretFile`). */
export interface Chap {
  user: string;
  secretFile: string;
  mutualUser?: string;
  mutualSecretFile?: string;
}

/**
 * An interface record of kvmpool's own (tcp; as `initiator` when given, else as the host): the node
 * records and sessions made through it are kvmpool's, told apart from any an administrator made.
 */
export async function makeIface(name: string, initiator: string | undefined): Promise<void> {
  await iscsiadm(['-m', 'iface', '-I', name, '-o', 'new'], name);
  await iscsiadm(['-m', 'iface', '-I', name, '-o', 'update', '-n', 'iface.transport_name', '-v', 'tcp'], name);
  if (initiator) await iscsiadm(['-m', 'iface', '-I', name, '-o', 'update', '-n', 'iface.initiatorname', '-v', initiator], name);
}

/** Removes an interface record (none: nothing to do). */
export async function removeIface(name: string): Promise<void> {
  await iscsiadm(['-m', 'iface', '-I', name, '-o', 'delete'], name).catch(noneThere);
}

/**
 * Makes the node record of `target` at portal `p` through `iface`, with short
 * login timeouts (and `replacementTimeoutS`, how long a lost session holds I/O) and CHAP, ready to log in. The secrets are appended to the record file (later keys win).
 */
export async function makeNode(target: string, p: Portal, iface: string, chap: Chap | undefined, replacementTimeoutS?: number): Promise<void> {
  const where = ['-T', target, '-p', portalText(p), '-I', iface];
  await iscsiadm(['-m', 'node', '-o', 'new', ...where], portalText(p));
  for (const [name, value] of [
    ['node.session.initial_login_retry_max', '1'],
    ['node.conn[0].timeo.login_timeout', String(LOGIN_TIMEOUT_S)],
    ['node.startup', 'manual'],
    ...(replacementTimeoutS !== undefined ? [['node.session.timeo.replacement_timeout', String(replacementTimeoutS)] as const] : []),
  ] as const) {
    await iscsiadm(['-m', 'node', '-o', 'update', ...where, '-n', name, '-v', value], portalText(p));
  }
  if (!chap) return;
  const file = await nodeRecordFile(target, p, iface);
  const lines = [
    'node.session.auth.authmethod = CHAP',
    `node.session.auth.username = ${chap.user}`,
    `node.session.auth.password = ${await secretText(chap.secretFile)}`,
    ...(chap.mutualUser && chap.mutualSecretFile ? [`node.session.auth.username_in = ${chap.mutualUser}`, `node.session.auth.password_in = ${await secretText(chap.mutualSecretFile)}`] : []),
  ];
  await chmod(file, 0o600);
  await appendFile(file, `${lines.join('\n')}\n`);
}

/** A secret as one line (a CHAP secret cannot hold a line break). */
async function secretText(file: string): Promise<string> {
  const text = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
  if (/[\r\n]/.test(text)) throw errors.invalid('a CHAP secret is one line');
  return text;
}

/**
 * The node record files of `target` at portal `p`, with the interface each is made through. A record
 * of the target portal group "-1" (one made without discovery) is the file ADDRESS,PORT (naming its
 * interface inside); others are ADDRESS,PORT,TPGT/IFACE.
 */
async function nodeRecords(target: string, p: Portal): Promise<{ file: string; iface: string }[]> {
  const prefix = `${p.host},${p.port}`;
  const found: { file: string; iface: string }[] = [];
  for (const nodes of NODE_DIRS) {
    const dir = path.join(nodes, target);
    for (const entry of await readdir(dir).catch(fallback([] as string[]))) {
      if (entry !== prefix && !entry.startsWith(`${prefix},`)) continue;
      const at = path.join(dir, entry);
      const st = await stat(at).catch(absent);
      if (st?.isFile()) {
        const iface = /^iface\.iscsi_ifacename = (.*)$/m.exec(await readFile(at, 'utf8').catch(fallback('')))?.[1] ?? 'default';
        found.push({ file: at, iface });
      } else if (st?.isDirectory()) {
        for (const iface of await readdir(at).catch(fallback([] as string[]))) found.push({ file: path.join(at, iface), iface });
      }
    }
  }
  return found;
}

/** The record file of the node through `iface`. */
async function nodeRecordFile(target: string, p: Portal, iface: string): Promise<string> {
  const mine = (await nodeRecords(target, p)).find((r) => r.iface === iface);
  if (!mine) throw new KvmpoolError('HOST_COMMAND_FAILED', `iscsiadm made no node record for ${target} at ${portalText(p)} through ${iface} (looked in ${NODE_DIRS.join(', ')})`, { target });
  return mine.file;
}

/**
 * IN_USE when a node record for `target` at `p` exists through another interface than `iface` (an
 * administrator's): kvmpool's own record would take its place in the same file.
 */
export async function assertNoForeignNode(target: string, p: Portal, iface: string): Promise<void> {
  const other = (await nodeRecords(target, p)).find((r) => r.iface !== iface);
  if (other) {
    throw errors.inUse(`there is a node record for ${target} at ${portalText(p)} that kvmpool did not make (${other.file}): log out of it and remove it first (iscsiadm -m node -o delete)`, { target, portal: portalText(p), record: other.file });
  }
}

/** Logs in to the target at the portal (its node record made first). */
export async function login(target: string, p: Portal, iface: string): Promise<void> {
  await iscsiadm(['-m', 'node', '-T', target, '-p', portalText(p), '-I', iface, '--login'], portalText(p), (LOGIN_TIMEOUT_S + 10) * 1000);
}

/** Logs out of the target at the portal; no session there is not an error. */
export async function logout(target: string, p: Portal, iface: string): Promise<void> {
  await iscsiadm(['-m', 'node', '-T', target, '-p', portalText(p), '-I', iface, '--logout'], portalText(p)).catch(noneThere);
}

/**
 * What a logout or record removal that finds nothing says: exit 21 (ISCSI_ERR_NO_OBJS_FOUND), or
 * `Could not read iface info for NAME` (exit 3) once the interface record is gone too.
 */
function noneThere(e: unknown): void {
  if (e instanceof HostCommandError && (e.details.exitCode === 21 || /Could not read iface info/.test(e.details.stderr))) return;
  throw e;
}

/** Removes the node record (none: nothing to do). */
export async function removeNode(target: string, p: Portal, iface: string): Promise<void> {
  await iscsiadm(['-m', 'node', '-T', target, '-p', portalText(p), '-I', iface, '-o', 'delete'], portalText(p)).catch(noneThere);
}

/** Asks the session to look for LUNs again (new or grown ones). */
export async function rescan(sid: number): Promise<void> {
  await iscsiadm(['-m', 'session', '-r', String(sid), '--rescan'], `session ${sid}`);
}

/** A logged-in session as sysfs shows it, with its LUNs. */
export interface IscsiSession {
  sid: number;
  target: string;
  portal: Portal;
  /** The interface record it was made through. */
  iface: string;
  /** The kernel's state: LOGGED_IN, or FAILED while iscsid tries to bring it back. */
  state: string;
  luns: IscsiLun[];
}

/** A LUN of a session: its number, its block device (once the kernel made it) and size. */
export interface IscsiLun {
  lun: number;
  device?: string;
  size: number;
}

const SESSIONS = '/sys/class/iscsi_session';

/** Every iSCSI session of the host, from sysfs (no daemon asked; never waits on a target). */
export async function iscsiSessions(): Promise<IscsiSession[]> {
  const out: IscsiSession[] = [];
  for (const name of await readdir(SESSIONS).catch(() => [] as string[])) {
    const m = /^session(\d+)$/.exec(name);
    if (!m) continue;
    const dir = path.join(SESSIONS, name);
    const target = (await readFile(path.join(dir, 'targetname'), 'utf8').catch(fallback(''))).trim();
    const device = path.join(dir, 'device');
    const conn = (await readdir(device).catch(() => [] as string[])).find((d) => d.startsWith('connection'));
    const connDir = conn ? path.join('/sys/class/iscsi_connection', conn) : undefined;
    const address = connDir ? (await readFile(path.join(connDir, 'persistent_address'), 'utf8').catch(fallback(''))).trim() : '';
    const port = connDir ? Number((await readFile(path.join(connDir, 'persistent_port'), 'utf8').catch(fallback('0'))).trim()) : 0;
    const state = (await readFile(path.join(dir, 'state'), 'utf8').catch(fallback(''))).trim();
    const iface = (await readFile(path.join(dir, 'ifacename'), 'utf8').catch(fallback(''))).trim();
    out.push({ sid: Number(m[1]), target, portal: { host: address, port }, iface, state, luns: (await disksUnder(device)).map((d) => ({ lun: d.lun, ...(d.device ? { device: d.device } : {}), size: d.size })) });
  }
  return out;
}


/** The host's own initiator name (/etc/iscsi/initiatorname.iscsi), or undefined. */
export async function hostInitiatorName(): Promise<string | undefined> {
  const text = await readFile('/etc/iscsi/initiatorname.iscsi', 'utf8').catch(absent);
  return text?.match(/^InitiatorName=(\S+)/m)?.[1];
}

/** The udev name of a LUN where udev made one (`/dev/disk/by-path/ip-ADDR:PORT-iscsi-TARGET-lun-N`), else undefined. */
export async function byPathName(target: string, p: Portal, lun: number, device: string): Promise<string | undefined> {
  // udev writes the address as the session shows it (an IPv6 one without brackets); LUNs past 255 differently (not matched).
  const link = `/dev/disk/by-path/ip-${p.host}:${p.port}-iscsi-${target}-lun-${lun}`;
  const to = await readlink(link).catch(absent);
  return to !== undefined && path.basename(to) === path.basename(device) ? link : undefined;
}
