import type { OperationId } from './operations.js';
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
  version: string;
}

/** What a handler gets: validated path parameters, query and body. */
export interface HandlerInput {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: Record<string, unknown>;
}

/** A handler's answer: the status (the operation's first response code when omitted) and the body. */
export interface HandlerOutput {
  status?: number;
  body?: unknown;
}

/** One handler per operation id. */
export type Handlers = Record<OperationId, (input: HandlerInput) => Promise<HandlerOutput>>;
