import { chmod, mkdir, readFile, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../../src/host/exec.js';

/**
 * Network file servers inside the test host, serving over `lo` (127.0.0.1 only): the kernel's NFS
 * server (v3 and v4.x) and Samba. Each serves an ext4 file system on one of the test host's disks
 * (the host's own file system, hostfs, cannot be exported). /etc, /var and /run are the test host's
 * own (init.sh), so their configuration never reaches the machine.
 */

const T = { timeoutMs: 60_000 };

/** Loads the client and server modules of NFS and CIFS. */
export async function loadNetModules(): Promise<void> {
  for (const m of ['nfsd', 'nfsv3', 'nfsv4', 'cifs']) await run('modprobe', ['-d', '/run/modroot', m], T);
}

/** Makes an ext4 file system on `disk` and mounts it at `dir`. */
async function serveDisk(disk: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await run('mkfs.ext4', ['-F', '-q', disk], T);
  await run('mount', [disk, dir], T);
}

/** The kernel NFS server exporting `dir` (an ext4 on `disk`) to 127.0.0.1; stop() ends the service (clients see it gone), start() brings it back, close() takes it all down. */
export async function nfsServer(disk: string, dir: string): Promise<{ stop: () => Promise<void>; start: () => Promise<void>; close: () => Promise<void> }> {
  await serveDisk(disk, dir);
  // NFSv4 sees the export under a pseudo-root; the machine's / (hostfs) cannot be one: a tmpfs can.
  const root = '/run/nfsroot';
  await mkdir(path.join(root, dir), { recursive: true });
  await run('mount', ['--bind', dir, path.join(root, dir)], T);
  await writeFile('/etc/nfs.conf', `[exports]\nrootdir=${root}\n[nfsd]\ngrace-time=10\nlease-time=10\nthreads=4\n`);
  await writeFile('/etc/exports', `${dir} 127.0.0.1(rw,sync,no_subtree_check,no_root_squash)\n`);
  await mkdir('/run/rpc_pipefs', { recursive: true });
  await run('mount', ['-t', 'rpc_pipefs', 'sunrpc', '/run/rpc_pipefs'], T);
  await run('mount', ['-t', 'nfsd', 'nfsd', '/proc/fs/nfsd'], T);
  await run('rpcbind', ['-w'], T);
  await run('rpc.statd', ['--no-notify'], T);
  await run('exportfs', ['-ra'], T);
  await run('rpc.mountd', [], T);
  const start = async () => {
    await run('rpc.nfsd', ['4'], T);
    // A fresh server has nothing to reclaim: its grace period would hold every v4 open for 10 s.
    await writeFile('/proc/fs/nfsd/v4_end_grace', 'Y');
  };
  await start();
  const stop = async () => void (await run('rpc.nfsd', ['0'], T));
  const close = async () => {
    await stop();
    await run('exportfs', ['-ua'], T);
    for (const p of ['rpc.mountd', 'rpc.statd', 'rpcbind']) await run('pkill', ['-x', p]).catch(() => undefined);
    await run('umount', [path.join(root, dir)], T);
    await run('umount', [dir], T);
  };
  return { start, stop, close };
}

/** Samba serving `dir` (an ext4 on `disk`) as share `vms` to user root with `password`, and as `guest` to guests. */
export async function sambaServer(disk: string, dir: string, password: string): Promise<{ close: () => Promise<void> }> {
  await serveDisk(disk, dir);
  await mkdir(path.join(dir, 'guest'));
  await chmod(path.join(dir, 'guest'), 0o777);
  const s = '/run/samba';
  for (const d of ['private', 'lock', 'state', 'cache', 'pid', 'ncalrpc', 'log']) await mkdir(path.join(s, d), { recursive: true });
  const conf = path.join(s, 'smb.conf');
  await writeFile(
    conf,
    [
      '[global]',
      'server role = standalone server', 'interfaces = lo', 'bind interfaces only = yes', 'disable netbios = yes', 'smb ports = 445',
      `passdb backend = tdbsam:${s}/private/passdb.tdb`, `private dir = ${s}/private`, `lock directory = ${s}/lock`, `state directory = ${s}/state`,
      `cache directory = ${s}/cache`, `pid directory = ${s}/pid`, `ncalrpc dir = ${s}/ncalrpc`, `binddns dir = ${s}/private`, `log file = ${s}/log/log.%m`,
      'load printers = no', 'printing = bsd', 'printcap name = /dev/null', 'disable spoolss = yes', 'map to guest = bad user', 'guest account = nobody',
      '[vms]', `path = ${dir}`, 'read only = no', 'valid users = root', 'force user = root',
      '[guest]', `path = ${dir}/guest`, 'read only = no', 'guest ok = yes', 'guest only = yes', 'force user = root',
      '',
    ].join('\n'),
  );
  await run('smbpasswd', ['-c', conf, '-s', '-a', 'root'], { input: `${password}\n${password}\n`, timeoutMs: 60_000 });
  await run('smbd', ['-D', '-s', conf], T);
  for (let i = 0; i < 200; i++) {
    const { stdout } = await run('ss', ['-ltn'], T);
    if (stdout.includes('127.0.0.1:445')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    close: async () => {
      await run('pkill', ['-x', 'smbd']).catch(() => undefined);
      for (let i = 0; i < 50 && (await run('pgrep', ['-x', 'smbd']).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
      await run('umount', [dir], T);
    },
  };
}

/** CHAP of a target's ACL: the initiator's user and secret, and the target's own for mutual CHAP. */
export interface TargetChap {
  user: string;
  secret: string;
  mutualUser?: string;
  mutualSecret?: string;
}

/**
 * A LIO iSCSI target (the kernel's, set up through configfs) named `iqn` with `luns` (block devices)
 * at `portals` on the loopback, for `initiator` only, with CHAP when given; and this host's initiator:
 * its name and iscsid. close() removes the target and stops iscsid.
 */
export async function iscsiTarget(o: { iqn: string; initiator: string; luns: string[]; portals: string[]; chap?: TargetChap }): Promise<{ setChap: (c: TargetChap | undefined) => Promise<void>; close: () => Promise<void> }> {
  for (const m of ['configfs', 'target_core_mod', 'target_core_iblock', 'iscsi_target_mod', 'iscsi_tcp', 'sd_mod']) await run('modprobe', ['-d', '/run/modroot', m], T);
  const configfs = '/sys/kernel/config';
  if (!(await run('findmnt', [configfs]).then(() => true, () => false))) await run('mount', ['-t', 'configfs', 'none', configfs], T);
  const c = path.join(configfs, 'target');
  // LIO's persistent reservations go to /run, not the machine's /etc or /var.
  await mkdir('/run/target', { recursive: true });
  await writeFile(path.join(c, 'dbroot'), '/run/target').catch(() => undefined);
  const tpg = path.join(c, 'iscsi', o.iqn, 'tpgt_1');
  const acl = path.join(tpg, 'acls', o.initiator);
  for (const [i, dev] of o.luns.entries()) {
    const store = path.join(c, 'core', `iblock_${i}`, `lun${i}`);
    await mkdir(store, { recursive: true });
    await writeFile(path.join(store, 'control'), `udev_path=${dev}`);
    await writeFile(path.join(store, 'wwn', 'vpd_unit_serial'), `5a4f7e2c-0000-4000-8000-00000000000${i}`);
    await writeFile(path.join(store, 'enable'), '1');
    await mkdir(path.join(tpg, 'lun', `lun_${i}`), { recursive: true });
    await symlink(store, path.join(tpg, 'lun', `lun_${i}`, 'storage'));
  }
  for (const p of o.portals) await mkdir(path.join(tpg, 'np', p), { recursive: true });
  for (const i of o.luns.keys()) {
    await mkdir(path.join(acl, `lun_${i}`), { recursive: true });
    await symlink(path.join(tpg, 'lun', `lun_${i}`), path.join(acl, `lun_${i}`, 'map'));
  }
  // configfs takes the values as written: no trailing newline.
  const setChap = async (chap: TargetChap | undefined) => {
    await writeFile(path.join(acl, 'auth', 'userid'), chap?.user ?? '');
    await writeFile(path.join(acl, 'auth', 'password'), chap?.secret ?? '');
    await writeFile(path.join(acl, 'auth', 'userid_mutual'), chap?.mutualUser ?? '');
    await writeFile(path.join(acl, 'auth', 'password_mutual'), chap?.mutualSecret ?? '');
    await writeFile(path.join(tpg, 'attrib', 'authentication'), chap ? '1' : '0');
  };
  await setChap(o.chap);
  await writeFile(path.join(tpg, 'enable'), '1');
  await writeFile('/etc/iscsi/initiatorname.iscsi', `InitiatorName=${o.initiator}\n`);
  await mkdir('/run/lock', { recursive: true });
  await run('iscsid', [], T);
  const close = async () => {
    await run('iscsiadm', ['-k', '0'], T).catch(() => undefined);
    await writeFile(path.join(tpg, 'enable'), '0').catch(() => undefined);
    for (const i of o.luns.keys()) {
      await rm(path.join(acl, `lun_${i}`, 'map'), { force: true });
      await rmdir(path.join(acl, `lun_${i}`)).catch(() => undefined);
    }
    await rmdir(acl).catch(() => undefined);
    for (const p of o.portals) await rmdir(path.join(tpg, 'np', p)).catch(() => undefined);
    for (const i of o.luns.keys()) {
      await rm(path.join(tpg, 'lun', `lun_${i}`, 'storage'), { force: true });
      await rmdir(path.join(tpg, 'lun', `lun_${i}`)).catch(() => undefined);
    }
    await rmdir(tpg).catch(() => undefined);
    await rmdir(path.join(c, 'iscsi', o.iqn)).catch(() => undefined);
    for (const i of o.luns.keys()) {
      await rmdir(path.join(c, 'core', `iblock_${i}`, `lun${i}`)).catch(() => undefined);
      await rmdir(path.join(c, 'core', `iblock_${i}`)).catch(() => undefined);
    }
  };
  return { setChap, close };
}

/**
 * Drops every packet to TCP `port` inside the test host (a tc filter on lo's ingress), as a server
 * whose network went away does: nothing answers, nothing is refused. Returns what lets them through again.
 */
export async function dropPackets(port: number): Promise<() => Promise<void>> {
  for (const m of ['sch_ingress', 'cls_u32', 'act_gact']) await run('modprobe', ['-d', '/run/modroot', m], T);
  const letThrough = async () => void (await run('tc', ['qdisc', 'del', 'dev', 'lo', 'ingress'], T).catch(() => undefined));
  await run('tc', ['qdisc', 'add', 'dev', 'lo', 'ingress'], T);
  await run('tc', ['filter', 'add', 'dev', 'lo', 'parent', 'ffff:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'dport', String(port), '0xffff', 'action', 'drop'], T).catch(async (e: unknown) => {
    await letThrough();
    throw e;
  });
  return letThrough;
}

/** Slows all traffic on lo to `mbit` megabits a second (a tc token bucket), so a copy over it lasts; returns what lifts it. */
export async function slowLoopback(mbit: number): Promise<() => Promise<void>> {
  await run('modprobe', ['-d', '/run/modroot', 'sch_tbf'], T);
  // The bucket holds several of lo's 64 KiB packets (a smaller one would stall them, not slow them).
  await run('tc', ['qdisc', 'add', 'dev', 'lo', 'root', 'tbf', 'rate', `${mbit}mbit`, 'burst', '512kb', 'latency', '2s'], T);
  return async () => void (await run('tc', ['qdisc', 'del', 'dev', 'lo', 'root'], T).catch(() => undefined));
}

/**
 * Keeps the test host's LVM (LVM_SYSTEM_DIR, a copy under `work`) off the target's own disks: they and
 * the LUNs made of them carry the same labels, and LVM must see the LUNs only (on a real SAN the target
 * is another machine).
 */
export async function lvmSeesLunsOnly(work: string): Promise<void> {
  const lvm = path.join(work, 'lvm');
  await mkdir(lvm, { recursive: true });
  const conf = await readFile(path.join(process.env['LVM_SYSTEM_DIR']!, 'lvm.conf'), 'utf8');
  await writeFile(path.join(lvm, 'lvm.conf'), conf.replace('devices {', 'devices {\n  global_filter = [ "r|^/dev/ubd|" ]'));
  process.env['LVM_SYSTEM_DIR'] = lvm;
}
