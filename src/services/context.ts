import type { Store } from '../state/store.js';
import type { SecretStore } from '../state/secrets.js';
import type { StorageTypes } from '../drivers/storage/storage-types.js';
import type { EventBus } from './events.js';
import type { JobManager } from './jobs/jobs.js';
import type { LockManager } from './locks.js';
import type { Metrics } from './metrics.js';

/** What every service shares: the store, secrets, events, locks, jobs, metrics, the storage types and a logger. */
export interface ServiceContext {
  store: Store;
  secrets: SecretStore;
  events: EventBus;
  locks: LockManager;
  jobs: JobManager;
  metrics: Metrics;
  storageTypes: StorageTypes;
  log: (message: string) => void;
  /** This boot's id (see host/boot-id.ts). */
  bootId: string;
}
