import type { Static, TSchema } from 'typebox';
import type { Operations, OperationId } from './operations.js';
import type { StorageTypes } from '../drivers/storage/storage-types.js';
import type { PoolService } from '../services/storage/pools.js';
import type { VolumeService } from '../services/storage/volumes.js';
import type { JobManager } from '../services/jobs/jobs.js';
import type { VolumeDataService } from '../services/storage/volume-data.js';
import type { SnapshotService } from '../services/storage/snapshots.js';
import type { TransferService } from '../services/storage/transfers.js';
import type { NetworkService } from '../services/network/networks.js';
import type { PortService } from '../services/network/ports.js';
import type { VmService } from '../services/vm/vms.js';
import type { VmDeviceService } from '../services/vm/vm-hotplug.js';
import type { ClusterService } from '../services/cluster/cluster.js';

/** The services the API calls. */
export interface ApiServices {
  pools: PoolService;
  volumes: VolumeService;
  data: VolumeDataService;
  snapshots: SnapshotService;
  transfers: TransferService;
  networks: NetworkService;
  ports: PortService;
  vms: VmService;
  vmDevices: VmDeviceService;
  jobs: JobManager;
  cluster: ClusterService;
  storageTypes: StorageTypes;
  version: string;
}

/** The static type of one part (`params`, `query`, `body`) of an operation; `{}` when it has none. */
type Part<O, P extends string> = O extends { [K in P]: infer S extends TSchema } ? Static<S> : Record<string, never>;

/** Who called: `local` when the request came over the daemon's unix socket (root only, by its 0600 mode). */
export interface Caller {
  local: boolean;
}

/** What a handler gets: path parameters, query and body, validated against the operation's schemas, and the caller. */
export interface HandlerInput<K extends OperationId> {
  params: Part<Operations[K], 'params'>;
  query: Part<Operations[K], 'query'>;
  body: Part<Operations[K], 'body'>;
  caller: Caller;
}

type Responses<K extends OperationId> = Operations[K]['responses'];

/** A handler's answer: one of the operation's statuses (its first when omitted) and that status's body. */
export type HandlerOutput<K extends OperationId> = {
  [S in keyof Responses<K>]: { status?: S; body?: Responses<K>[S] extends TSchema ? Static<Responses<K>[S]> : never };
}[keyof Responses<K>];

/** One handler per operation id, typed by its schemas. */
export type Handlers = { [K in OperationId]: (input: HandlerInput<K>) => Promise<HandlerOutput<K>> };
