import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before } from 'node:test';
import { run } from '../../src/host/exec.js';
import { tempDir } from './tmp.js';
import { freePort } from './ports.js';

/**
 * A throw-away one-node Ceph cluster for tests: one monitor, one manager and one OSD (memstore, data in
 * the OSD's memory), cephx on, listening on 127.0.0.1 only at ports nobody else uses, everything under
 * `dir`. No systemd and nothing in /etc/ceph: every command gets the cluster's own configuration.
 */
export interface CephCluster {
  /** The monitor, HOST:PORT (msgr v2). */
  monitor: string;
  /** The cluster's configuration file (for the test's own `ceph`, `rbd` and `rados` commands). */
  conf: string;
  /** Runs a command of the Ceph tools as the cluster's admin. */
  admin(tool: 'ceph' | 'rbd' | 'rados', args: readonly string[]): Promise<string>;
  /** Makes an RBD pool (initialised for RBD). */
  makePool(name: string): Promise<void>;
  /** Makes a user with the `rbd` profile on `pools`; returns a file (0600) holding its key. */
  makeUser(name: string, pools: readonly string[]): Promise<string>;
  /** Stops the daemons (OSD first: it tells the monitor) and removes the cluster's files. */
  stop(): Promise<void>;
}

/** The manager's modules rbd needs none of (each costs a start-up moment and memory). */
const IDLE_MGR_MODULES = 'alerts,diskprediction_local,influx,insights,iostat,localpool,mirroring,nfs,osd_perf_query,osd_support,prometheus,restful,selftest,snap_schedule,stats,telegraf,test_orchestrator,zabbix';

function configuration(dir: string, fsid: string, v2: number, v1: number): string {
  return `[global]
fsid = ${fsid}
mon host = [v2:127.0.0.1:${v2},v1:127.0.0.1:${v1}]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
run dir = ${dir}/run
admin socket = ${dir}/run/$cluster-$name.asok
pid file = ${dir}/run/$cluster-$name.pid
log file = ${dir}/log/$cluster-$name.log
crash dir = ${dir}/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon allow pool delete = true

[mon]
mon data = ${dir}/mon/$cluster-$id
mon data avail warn = 1
mon data avail crit = 0
# every osdmap change (a pool made, a snapshot taken) otherwise waits a second
paxos propose interval = 0.05

[osd]
osd data = ${dir}/osd/$cluster-$id
osd memory target = 1073741824
osd objectstore = memstore
memstore device bytes = 4294967296

[mgr]
mgr data = ${dir}/mgr/$cluster-$id
mgr disabled modules = ${IDLE_MGR_MODULES}

[client]
keyring = ${dir}/$cluster.$name.keyring
client mount timeout = 15
# no admin socket per client: commands run side by side would collide on it
admin socket =
`;
}

/** Polls `ok` every 200 ms; fails after `seconds` naming `what`. */
async function waitFor(what: string, seconds: number, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`the test Ceph cluster: ${what} not ready after ${seconds} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Starts a cluster in `dir` (made here; `dir` should be a test's temporary directory, so an interrupted
 * run's daemons are found by scripts/sweep-tests.sh through their `-c DIR/ceph.conf`). Ready in about
 * 5 s; stops what it started when it fails.
 */
export async function startCeph(dir: string): Promise<CephCluster> {
  for (const d of ['mon/ceph-a', 'osd/ceph-0', 'mgr/ceph-x', 'run', 'log', 'crash']) await mkdir(path.join(dir, d), { recursive: true });
  const conf = path.join(dir, 'ceph.conf');
  const [v2, v1] = [await freePort(), await freePort()];
  await writeFile(conf, configuration(dir, randomUUID(), v2, v1));
  const c = ['-c', conf];
  const daemons: { name: string; pid: number; exited: Promise<void> }[] = [];
  const startDaemon = async (command: string, name: string, args: string[]) => {
    const log = await open(path.join(dir, 'log', `${name}.stdout`), 'a');
    const child = spawn(command, [...c, ...args, '-f'], { stdio: ['ignore', log.fd, log.fd], detached: true });
    await log.close();
    daemons.push({ name, pid: child.pid!, exited: new Promise((r) => child.once('exit', () => r())) });
  };
  const admin = async (tool: 'ceph' | 'rbd' | 'rados', args: readonly string[]) => (await run(tool, [...c, ...args], { timeoutMs: 60_000 })).stdout;
  const stop = async () => {
    // The OSD first: it reports its going down, which the monitor must still be there to hear.
    for (const group of [['osd.0'], ['mgr.x', 'mon.a']]) {
      await Promise.all(
        daemons
          .filter((d) => group.includes(d.name))
          .map(async (d) => {
            const signal = (s: NodeJS.Signals) => {
              try {
                process.kill(d.pid, s);
              } catch {
                /* gone already */
              }
            };
            signal('SIGTERM');
            const killer = setTimeout(() => signal('SIGKILL'), 10_000);
            await d.exited;
            clearTimeout(killer);
          }),
      );
    }
    await run('rm', ['-rf', '--', dir]);
  };
  try {
    const monKeyring = path.join(dir, 'mon.keyring');
    const adminKeyring = path.join(dir, 'ceph.client.admin.keyring');
    await run('ceph-authtool', ['--create-keyring', monKeyring, '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
    await run('ceph-authtool', ['--create-keyring', adminKeyring, '--gen-key', '-n', 'client.admin', '--cap', 'mon', 'allow *', '--cap', 'osd', 'allow *', '--cap', 'mgr', 'allow *']);
    await run('ceph-authtool', [monKeyring, '--import-keyring', adminKeyring]);
    const monmap = path.join(dir, 'monmap');
    const fsid = /fsid = (\S+)/.exec(await readFile(conf, 'utf8'))![1]!;
    await run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${v2},v1:127.0.0.1:${v1}]`, monmap]);
    await run('ceph-mon', [...c, '--mkfs', '-i', 'a', '--monmap', monmap, '--keyring', monKeyring]);
    await startDaemon('ceph-mon', 'mon.a', ['-i', 'a']);
    await waitFor('the monitor', 60, async () => (await run('ceph', [...c, '--connect-timeout', '5', 'health'], { timeoutMs: 10_000 }), true));

    // The manager (pool usage figures come from it) starts while the OSD is made.
    await admin('ceph', ['auth', 'get-or-create', 'mgr.x', 'mon', 'allow profile mgr', 'osd', 'allow *', '-o', path.join(dir, 'mgr/ceph-x/keyring')]);
    await startDaemon('ceph-mgr', 'mgr.x', ['-i', 'x']);

    const osdUuid = randomUUID();
    const id = (await admin('ceph', ['osd', 'new', osdUuid])).trim();
    const osdKeyring = path.join(dir, `osd/ceph-${id}/keyring`);
    await run('ceph-authtool', ['--create-keyring', osdKeyring, '--gen-key', '-n', `osd.${id}`]);
    await admin('ceph', ['auth', 'add', `osd.${id}`, 'osd', 'allow *', 'mon', 'allow profile osd', 'mgr', 'allow profile osd', '-i', osdKeyring]);
    await run('ceph-osd', [...c, '-i', id, '--mkfs', '--osd-uuid', osdUuid], { timeoutMs: 60_000 });
    await startDaemon('ceph-osd', `osd.${id}`, ['-i', id]);
    await waitFor('the OSD', 60, async () => (JSON.parse(await admin('ceph', ['osd', 'stat', '--format', 'json'])) as { num_up_osds: number }).num_up_osds === 1);
    await waitFor('the manager', 60, async () => (JSON.parse(await admin('ceph', ['mgr', 'stat', '--format', 'json'])) as { available: boolean }).available);
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
  return {
    monitor: `127.0.0.1:${v2}`,
    conf,
    admin,
    async makePool(name) {
      await admin('ceph', ['osd', 'pool', 'create', name, '8', '8']);
      await admin('rbd', ['pool', 'init', name]);
    },
    async makeUser(name, pools) {
      const osd = pools.map((p) => `profile rbd pool=${p}`).join(', ');
      await admin('ceph', ['auth', 'get-or-create', `client.${name}`, 'mon', 'profile rbd', 'osd', osd, 'mgr', osd]);
      const file = path.join(dir, `${name}.key`);
      await writeFile(file, (await admin('ceph', ['auth', 'get-key', `client.${name}`])).trim(), { mode: 0o600 });
      return file;
    },
    stop,
  };
}

/** A cluster a test file shares, with one user (`kvmpool`, the rbd profile on the file's pools); filled in before its tests run. */
export interface SharedCeph {
  cluster: CephCluster;
  /** The user's key file (0600) and the key itself. */
  keyFile: string;
  key: string;
}

/**
 * Starts a cluster before the file's tests (with the RBD pools `pools` and the user) and stops it,
 * removing everything, after them. A cluster that cannot start fails the file's tests.
 */
export function cephForFile(pools: readonly string[]): SharedCeph {
  const shared = {} as SharedCeph;
  let stop: (() => Promise<void>) | undefined;
  before(async () => {
    const { dir, cleanup } = await tempDir();
    try {
      shared.cluster = await startCeph(path.join(dir, 'ceph'));
      stop = async () => {
        await shared.cluster.stop();
        await cleanup();
      };
      for (const p of pools) await shared.cluster.makePool(p);
      shared.keyFile = await shared.cluster.makeUser('kvmpool', pools);
      shared.key = (await readFile(shared.keyFile, 'utf8')).trim();
    } catch (e) {
      await (stop ?? cleanup)();
      throw e;
    }
  });
  after(async () => {
    await stop?.();
  });
  return shared;
}
