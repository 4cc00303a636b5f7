import type Database from 'better-sqlite3';
import { openDatabase } from './database.js';
import { JobRepository } from './jobs.js';
import { JournalRepository } from './journal.js';
import { NetworkRepository, PortRepository } from './networks.js';
import { PoolRepository } from './pools.js';
import { VmRepository } from './vms.js';
import { VolumeRepository } from './volumes.js';
import { ClusterRepository } from './cluster.js';

export type { PoolRecord, PoolPatch } from './pools.js';
export type { VolumeRecord } from './volumes.js';
export type { NetworkRecord, PortRecord } from './networks.js';
export type { VmRecord, VmRuntime } from './vms.js';
export type { JournalEntry } from './journal.js';

/** The embedded SQLite store: one repository per aggregate, over one database. */
export class Store {
  private readonly db: Database.Database;
  readonly pools: PoolRepository;
  readonly volumes: VolumeRepository;
  readonly jobs: JobRepository;
  readonly networks: NetworkRepository;
  readonly ports: PortRepository;
  readonly vms: VmRepository;
  readonly journal: JournalRepository;
  readonly cluster: ClusterRepository;

  constructor(file: string) {
    this.db = openDatabase(file);
    this.pools = new PoolRepository(this.db);
    this.volumes = new VolumeRepository(this.db);
    this.jobs = new JobRepository(this.db);
    this.networks = new NetworkRepository(this.db);
    this.ports = new PortRepository(this.db);
    this.vms = new VmRepository(this.db);
    this.journal = new JournalRepository(this.db);
    this.cluster = new ClusterRepository(this.db);
  }

  close(): void {
    this.db.close();
  }

  /** Runs `fn` in one transaction. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
