import { existsSync } from 'node:fs';
import { chmod, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { KvmpoolError } from '../model/errors.js';
import { Store } from '../state/store.js';
import { SecretStore } from '../state/secrets.js';
import { bootId } from '../host/boot-id.js';
import type { AnyStorageType } from '../drivers/storage/driver.js';
import { PLANNED_TYPES, STORAGE_TYPES } from '../drivers/storage/registry.js';
import { StorageTypes } from '../drivers/storage/storage-types.js';
import { EventBus } from '../services/events.js';
import { JobManager } from '../services/jobs/jobs.js';
import { LockManager } from '../services/locks.js';
import { Metrics } from '../services/metrics.js';
import { PoolGate } from '../services/storage/pool-gate.js';
import { PoolService } from '../services/storage/pools.js';
import { recoverVolumes } from '../services/storage/recover.js';
import { VolumeRecords } from '../services/storage/volume-records.js';
import { VolumeRules } from '../services/storage/volume-rules.js';
import { VolumeWork } from '../services/storage/volume-work.js';
import { VolumeService } from '../services/storage/volumes.js';
import { VolumeDataService } from '../services/storage/volume-data.js';
import { SnapshotService } from '../services/storage/snapshots.js';
import { TransferService } from '../services/storage/transfers.js';
import { NetworkService } from '../services/network/networks.js';
import { PortService } from '../services/network/ports.js';
import { DEFAULT_CONSOLE_BYTES, VmService } from '../services/vm/vms.js';
import { VmDeviceService } from '../services/vm/vm-hotplug.js';
import { VmDiskView } from '../services/vm/vm-disks.js';
import { VmTracker } from '../services/vm/vm-tracker.js';
import { ClusterService } from '../services/cluster/cluster.js';
import type { ServiceContext } from '../services/context.js';
import { buildApi } from '../api/server.js';
import { ensureHome, loadOrCreateToken, resolveHome, type HomePaths } from './home.js';
import { VERSION } from './version.js';

/** How to run a daemon. */
export interface DaemonOptions {
  home?: string;
  /** TCP listen address (`127.0.0.1:7070`); null for the unix socket only. */
  listen?: string | null;
  log?: (message: string) => void;
  /** Size at which a VM's console log is cut (default 16 MiB). */
  vmConsoleBytes?: number;
  /** Storage types besides this build's (a test's own). */
  storageTypes?: readonly AnyStorageType[];
  /** Seconds this host's lease in its cluster lives without renewal (default 10). */
  clusterLeaseSeconds?: number;
}

/** A running daemon. */
export interface Daemon {
  paths: HomePaths;
  /** `host:port` of the TCP listener, if any. */
  tcp?: string;
  pools: PoolService;
  volumes: VolumeService;
  close(): Promise<void>;
}

/** Name and target of the pool a new home gets. */
export const DEFAULT_POOL = 'default';
/** How often running pools are looked after (thin pool fill levels). */
const MAINTENANCE_INTERVAL_MS = 10_000;

/**
 * Starts a daemon on a home: opens the store, repairs what a crash interrupted, creates the default
 * pool on first start, starts pools, and serves the API on the home's socket (and TCP when asked).
 */
export async function startDaemon(options: DaemonOptions = {}): Promise<Daemon> {
  const log = options.log ?? ((m: string) => console.log(m));
  const paths = resolveHome(options.home);
  await ensureHome(paths);
  await refuseIfServed(paths.socket);
  const firstStart = !existsSync(paths.database);
  const store = new Store(paths.database);
  const events = new EventBus();
  const metrics = new Metrics();
  const storageTypes = new StorageTypes([...STORAGE_TYPES, ...(options.storageTypes ?? [])], PLANNED_TYPES);
  const jobs = new JobManager(store, events, log);
  const ctx: ServiceContext = { store, secrets: new SecretStore(paths.secrets), events, locks: new LockManager(), jobs, metrics, storageTypes, log, bootId: await bootId() };
  await ctx.secrets.sweep();
  const work = new VolumeWork(ctx, new PoolGate(ctx), new VolumeRecords(ctx), new VolumeRules(ctx));
  const volumes = new VolumeService(work);
  const pools = new PoolService(work);
  const data = new VolumeDataService(work);
  const snapshots = new SnapshotService(work);
  const transfers = new TransferService(work);
  const networks = new NetworkService(ctx, () => (options.listen ? [listenHost(options.listen)] : []));
  const ports = new PortService(ctx, networks);
  const tracker = new VmTracker(ctx);
  const vms = new VmService(ctx, paths.vms, volumes, ports, tracker, { consoleBytes: options.vmConsoleBytes ?? DEFAULT_CONSOLE_BYTES });
  const vmDevices = new VmDeviceService(vms, volumes, ports);
  work.rules.vms = new VmDiskView(ctx, tracker);
  const cluster = new ClusterService(ctx, options.clusterLeaseSeconds);
  metrics.poolGauges(async () => (await pools.list()).filter((p) => p.state !== 'inactive'));

  const interrupted = store.jobs.failInterrupted(new Date().toISOString());
  if (interrupted > 0) log(`${interrupted} job(s) were interrupted by the last stop`);
  await recoverVolumes(ctx, work.gate, work.records);
  await ports.recover();
  if (firstStart) await createDefaultPool(pools, paths, log);
  await pools.startup();
  await networks.startup();
  await vms.startup();
  const maintenance = setInterval(() => void pools.maintain(), MAINTENANCE_INTERVAL_MS);
  maintenance.unref();

  const token = await loadOrCreateToken(paths.token);
  const app = await buildApi({ pools, volumes, data, snapshots, transfers, networks, ports, vms, vmDevices, jobs, cluster, storageTypes, events, metrics, token, version: VERSION, log });
  await rm(paths.socket, { force: true });
  await app.listen({ path: paths.socket });
  await chmod(paths.socket, 0o600);
  let tcpServer: http.Server | undefined;
  let tcp: string | undefined;
  if (options.listen) {
    ({ server: tcpServer, address: tcp } = await listenTcp(app, options.listen));
  }
  // Once it answers: a daemon that failed to start never shows up in its cluster.
  cluster.startup();

  let closed = false;
  return {
    paths,
    ...(tcp ? { tcp } : {}),
    pools,
    volumes,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(maintenance);
      vms.close();
      await cluster.close();
      await jobs.shutdown();
      await work.watches.stopAll();
      if (tcpServer) {
        tcpServer.closeAllConnections();
        await new Promise<void>((resolve) => tcpServer!.close(() => resolve()));
      }
      app.server.closeAllConnections();
      await app.close();
      store.close();
    },
  };
}

async function createDefaultPool(pools: PoolService, paths: HomePaths, log: (m: string) => void): Promise<void> {
  try {
    await pools.define({ name: DEFAULT_POOL, type: 'dir', target: path.join(paths.pools, DEFAULT_POOL), autostart: true });
    await pools.build(DEFAULT_POOL);
  } catch (e) {
    log(`could not create the default pool: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The host part of `HOST:PORT` (brackets of an IPv6 address removed). */
function listenHost(listen: string): string {
  return listen.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
}

/** Serves the same routes on TCP (token required there). */
async function listenTcp(app: FastifyInstance, listen: string): Promise<{ server: http.Server; address: string }> {
  const m = /^(.*):(\d+)$/.exec(listen);
  if (!m) throw new KvmpoolError('INVALID_ARGUMENT', `invalid listen address '${listen}': expected HOST:PORT`);
  const host = m[1]!.replace(/^\[|\]$/g, '');
  const server = http.createServer((req, res) => app.routing(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[2]), host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return { server, address: `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` };
}

/** Fails when another daemon answers on the socket; a stale socket file is fine (it is replaced). */
async function refuseIfServed(socket: string): Promise<void> {
  if (!existsSync(socket)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(socket);
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
  if (alive) throw new KvmpoolError('ALREADY_EXISTS', `a kvmpool daemon already serves ${socket}`, { socket });
}
