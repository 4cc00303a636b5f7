import { KvmpoolError, errors } from '../model/errors.js';
import { HostCommandError, run } from './exec.js';
import { malformed } from './tool-output.js';

/**
 * Network file systems (NFS, CIFS): mounting, unmounting, and looking at a mount in a process that
 * can be killed and abandoned, so that a server that went away never holds up the caller.
 */

/** How a share is reached: the NFS export or CIFS share on `host`, and the options to mount it with. */
export type NetShare =
  | { protocol: 'nfs'; host: string; export: string; version?: string; options: readonly string[] }
  | { protocol: 'cifs'; host: string; share: string; username?: string; domain?: string; version?: string; options: readonly string[] };

/** What every network mount gets last (so it wins): no device nodes, setuid or programs from a server. */
const SAFE = ['nodev', 'nosuid', 'noexec'];
/** A mount waits this long for a server; an NFS mount tries once (`retry=0`) rather than for 2 minutes. */
const MOUNT_TIMEOUT_MS = 30_000;

/** The source argument of mount: `host:/export` (`[v6]:/export`) or `//host/share`. */
export function shareSource(s: NetShare): string {
  if (s.protocol === 'cifs') return `//${s.host}/${s.share}`;
  return `${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.export}`;
}

/** argv of mount for the share at `target`. A CIFS password is never here: mount.cifs reads it from PASSWD_FILE. */
export function netMountArgs(s: NetShare, target: string): string[] {
  const own =
    s.protocol === 'nfs'
      ? [...(s.version ? [`vers=${s.version}`] : []), 'retry=0']
      : // nobrl: SMB byte-range locks are mandatory, and qemu's image locks (bytes 100+) would then
        // refuse its own writes (EACCES); they stay on this host.
        [...(s.username ? [`username=${s.username}`] : ['guest']), ...(s.domain ? [`domain=${s.domain}`] : []), ...(s.version ? [`vers=${s.version}`] : []), 'nobrl'];
  return ['-t', s.protocol, '-o', [...s.options, ...own, ...SAFE].join(','), shareSource(s), target];
}

/**
 * Mounts the share at `target`, classifying what the server answered: AUTH_FAILED (a wrong password,
 * or a host the server does not export to), NOT_FOUND (no such export or share), UNAVAILABLE (no
 * server answered in time).
 */
export async function mountShare(s: NetShare, target: string, passwordFile?: string): Promise<void> {
  const env: Record<string, string> = passwordFile ? { PASSWD_FILE: passwordFile } : {};
  await run('mount', netMountArgs(s, target), { timeoutMs: MOUNT_TIMEOUT_MS, killGraceMs: 1000, env }).catch((e: unknown) => {
    throw classifyMountError(s, e);
  });
}

/** What a failed mount of `s` means, from mount's message (samples in the cases below). */
export function classifyMountError(s: NetShare, e: unknown): unknown {
  if (!(e instanceof HostCommandError)) return e;
  const where = shareSource(s);
  const details = { source: where, stderr: e.details.stderr };
  if (e.details.timedOut) return new KvmpoolError('UNAVAILABLE', `${where}: the server did not answer within ${MOUNT_TIMEOUT_MS / 1000} s`, details, { cause: e });
  const text = e.details.stderr;
  // mount error(13): Permission denied / mount.nfs: access denied by server while mounting H:/x
  if (/error\(13\)|access denied|permission denied/i.test(text)) return new KvmpoolError('AUTH_FAILED', `${where}: the server refused access (${lastLine(text)})`, details, { cause: e });
  // mount error(2): No such file or directory / reason given by server: No such file or directory
  if (/error\(2\)|No such file or directory|does not exist/i.test(text)) return new KvmpoolError('NOT_FOUND', `${where}: no such ${s.protocol === 'nfs' ? 'export' : 'share'} (${lastLine(text)})`, details, { cause: e });
  if (/resolve|Name or service not known|unknown host/i.test(text)) return new KvmpoolError('UNAVAILABLE', `${where}: the host name ${s.host} does not resolve`, details, { cause: e });
  // Connection refused, No route to host, timed out, error(111)/(113)/(112), Host is down
  if (/refused|no route|timed out|unreachable|host is down|error\(11[0-3]\)|not supported/i.test(text)) {
    return new KvmpoolError('UNAVAILABLE', `${where}: no server answered (${lastLine(text)})`, details, { cause: e });
  }
  return e;
}

function lastLine(text: string): string {
  return text.split('\n').filter((l) => l.trim() !== '').at(-1)?.trim() ?? 'no message';
}

/**
 * Unmounts a share; IN_USE when files on it are open. A server that went away (`gone`, or an unmount
 * that does not end within a few seconds) would hold a plain unmount: the mount is then detached at
 * once (`-f -l`) and goes from the kernel once nothing uses it.
 */
export async function unmountShare(target: string, gone: boolean): Promise<void> {
  // -f also ends the requests in flight (they fail with EIO): only for a server known to be gone.
  const detach = (force: boolean) => run('umount', [...(force ? ['-f'] : []), '-l', target], { timeoutMs: 10_000, killGraceMs: 1000 });
  if (gone) return void (await detach(true));
  await run('umount', [target], { timeoutMs: 5000, killGraceMs: 500 }).catch(async (e: unknown) => {
    if (e instanceof HostCommandError && /target is busy|device is busy/.test(e.details.stderr)) throw errors.inUse(`${target} is busy: files on it are open`, { target });
    if (e instanceof HostCommandError && e.details.timedOut) return void (await detach(false));
    throw e;
  });
}

/** Size and free space of a mounted file system. */
export interface MountUsage {
  capacity: number;
  allocation: number;
  available: number;
}

/** argv of stat that prints a file system's block size, blocks, free blocks and blocks available to users. */
export function statfsArgs(target: string): string[] {
  return ['--file-system', '--format=%S %b %f %a', target];
}

/** Parses `stat --file-system --format='%S %b %f %a'`: `4096 249206 237566 224790`. */
export function parseStatfs(text: string): MountUsage {
  const n = text.trim().split(/\s+/).map(Number);
  if (n.length !== 4 || n.some((x) => !Number.isSafeInteger(x) || x < 0)) throw malformed('stat', 'expected four numbers', text);
  const [size, blocks, free, avail] = n as [number, number, number, number];
  return { capacity: size * blocks, allocation: size * (blocks - free), available: size * avail };
}

/**
 * The usage of the file system mounted at `target`, asked in a process of its own that is killed after
 * `timeoutMs` (and abandoned if even that does not end it): HOST_COMMAND_TIMEOUT when the server does not answer.
 */
export async function probeMount(target: string, timeoutMs: number): Promise<MountUsage> {
  const { stdout } = await run('stat', statfsArgs(target), { timeoutMs, killGraceMs: 500 });
  return parseStatfs(stdout);
}

/** argv of showmount listing the exports of `host`. */
export function showmountArgs(host: string): string[] {
  return ['--exports', '--no-headers', host];
}

/** Parses `showmount --exports --no-headers`: `/srv/vm  10.0.0.0/8,127.0.0.1` per line (the path, then its clients). */
export function parseShowmount(text: string): { export: string; clients: string[] }[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const m = /^(\/.*?)\s+(\S+)$/.exec(l.trim());
      if (!m) throw malformed('showmount', 'a line without an export path', l);
      return { export: m[1]!, clients: m[2]!.split(',') };
    });
}

/** The exports of an NFS server (v3 mountd), asked with a time limit. */
export async function nfsExports(host: string, timeoutMs: number): Promise<{ export: string; clients: string[] }[]> {
  const { stdout } = await run('showmount', showmountArgs(host), { timeoutMs, killGraceMs: 500 }).catch((e: unknown) => {
    if (e instanceof HostCommandError && e.details.timedOut) throw new KvmpoolError('UNAVAILABLE', `${host}: no NFS server answered within ${timeoutMs / 1000} s`, { host }, { cause: e });
    if (e instanceof HostCommandError) throw new KvmpoolError('UNAVAILABLE', `${host}: its exports could not be listed (${lastLine(e.details.stderr)})`, { host, stderr: e.details.stderr }, { cause: e });
    throw e;
  });
  return parseShowmount(stdout);
}

/** argv of smbclient listing the shares of `host` in its parseable form (-g); a user's password comes from PASSWD_FILE. */
export function smbSharesArgs(host: string, user?: { username: string; domain?: string }): string[] {
  return ['-g', '-L', `//${host}`, ...(user ? [`--user=${user.username}`, ...(user.domain ? [`--workgroup=${user.domain}`] : [])] : ['-N'])];
}

/** Parses `smbclient -g -L`: `Disk|vms|VM images` per share (IPC and printers are not file shares). */
export function parseSmbShares(text: string): { share: string; comment: string }[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('Disk|'))
    .map((l) => {
      const [, share, ...comment] = l.split('|');
      return { share: share!, comment: comment.join('|') };
    })
    .filter((s) => s.share !== '' && !s.share.endsWith('$'));
}

/** The file shares of a CIFS server, asked with a time limit (as a guest without `user`). */
export async function cifsShares(host: string, timeoutMs: number, user?: { username: string; domain?: string; passwordFile?: string }): Promise<{ share: string; comment: string }[]> {
  const env: Record<string, string> = user?.passwordFile ? { PASSWD_FILE: user.passwordFile } : {};
  // smbclient prints why it failed (`session setup failed: NT_STATUS_LOGON_FAILURE`) on stdout.
  let printed = '';
  const onStdout = (text: string) => void (printed = (printed + text).slice(-4000));
  const { stdout } = await run('smbclient', smbSharesArgs(host, user), { timeoutMs, killGraceMs: 500, env, onStdout }).catch((e: unknown) => {
    if (!(e instanceof HostCommandError)) throw e;
    const text = `${e.details.stderr}\n${printed}`.trim();
    if (e.details.timedOut) throw new KvmpoolError('UNAVAILABLE', `${host}: no CIFS server answered within ${timeoutMs / 1000} s`, { host }, { cause: e });
    if (/LOGON_FAILURE|ACCESS_DENIED|WRONG_PASSWORD/.test(text)) throw new KvmpoolError('AUTH_FAILED', `${host}: the server refused the credentials`, { host }, { cause: e });
    throw new KvmpoolError('UNAVAILABLE', `${host}: its shares could not be listed (${lastLine(text)})`, { host, stderr: text }, { cause: e });
  });
  return parseSmbShares(stdout);
}
