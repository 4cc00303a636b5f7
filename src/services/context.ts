import type { Store } from '../state/store.js';
import type { EventBus } from './events.js';
import type { JobManager } from './jobs/jobs.js';
import type { LockManager } from './locks.js';
import type { Metrics } from './metrics.js';

/** What every service shares: the store, events, locks, jobs, metrics and a logger. */
export interface ServiceContext {
  store: Store;
  events: EventBus;
  locks: LockManager;
  jobs: JobManager;
  metrics: Metrics;
  log: (message: string) => void;
  /** This boot's id (see host/boot-id.ts). */
  bootId: string;
}
