import Database from 'better-sqlite3';
import type { JobInfo, PoolDefinition, PoolSource, VolumeFacts } from '../model/types.js';
import type { NetworkDefinition, PortDefinition, UplinkChanges } from '../model/network-types.js';
import type { VmDefinition, VmState } from '../model/vm-types.js';

/** A pool definition plus what kvmpool remembers about it. */
export interface PoolRecord extends PoolDefinition {
  /** Directories (or other objects) that `build` created and `delete` may remove; null when not built. */
  built: string[] | null;
  /** Whether the pool was running; with `bootId` tells what to bring back after a daemon restart. */
  active: boolean;
  bootId: string | null;
  created: string;
}

/** What the store keeps of a volume: identity, ownership, and the facts last read from the host. */
export interface VolumeRecord {
  key: string;
  pool: string;
  name: string;
  managed: boolean;
  created: string;
  facts: VolumeFacts;
}

/** A network definition plus its run state and what its start changed on the uplink. */
export interface NetworkRecord extends NetworkDefinition {
  active: boolean;
  bootId: string | null;
  changes: UplinkChanges | null;
  created: string;
}

/** A port definition plus when it was made. */
export interface PortRecord extends PortDefinition {
  created: string;
}

/** What kvmpool knows of a VM's qemu: enough to find it again after a daemon restart. */
export interface VmRuntime {
  state: VmState;
  reason?: string;
  pid?: number;
  bootId?: string;
  accelerator?: 'kvm' | 'tcg';
  started?: string;
}

/** A VM definition plus its last known run state. */
export interface VmRecord extends VmDefinition {
  runtime: VmRuntime;
  created: string;
}

/** One entry of the operation journal: a multi-step host change in flight. */
export interface JournalEntry {
  id: number;
  kind: string;
  data: Record<string, unknown>;
  created: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS pools (
  name TEXT PRIMARY KEY, type TEXT NOT NULL, target TEXT NOT NULL, autostart INTEGER NOT NULL,
  built TEXT, active INTEGER NOT NULL DEFAULT 0, boot_id TEXT, created TEXT NOT NULL, source TEXT);
CREATE TABLE IF NOT EXISTS volumes (
  key TEXT PRIMARY KEY, pool TEXT NOT NULL REFERENCES pools(name) ON DELETE CASCADE, name TEXT NOT NULL,
  managed INTEGER NOT NULL, created TEXT NOT NULL, facts TEXT NOT NULL, UNIQUE (pool, name));
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL, state TEXT NOT NULL,
  done INTEGER NOT NULL, total INTEGER NOT NULL, error TEXT, result TEXT, created TEXT NOT NULL, finished TEXT);
CREATE TABLE IF NOT EXISTS networks (
  name TEXT PRIMARY KEY, definition TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 0, boot_id TEXT,
  changes TEXT, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ports (
  network TEXT NOT NULL REFERENCES networks(name) ON DELETE CASCADE, name TEXT NOT NULL,
  ifname TEXT NOT NULL UNIQUE, definition TEXT NOT NULL, created TEXT NOT NULL, PRIMARY KEY (network, name));
CREATE TABLE IF NOT EXISTS vms (
  name TEXT PRIMARY KEY, definition TEXT NOT NULL, runtime TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
  id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, data TEXT NOT NULL, created TEXT NOT NULL);
`;

interface PoolRow { name: string; type: string; target: string; autostart: number; built: string | null; active: number; boot_id: string | null; created: string; source: string | null }
interface VolumeRow { key: string; pool: string; name: string; managed: number; created: string; facts: string }
interface NetworkRow { name: string; definition: string; active: number; boot_id: string | null; changes: string | null; created: string }
interface VmRow { definition: string; runtime: string; created: string }
interface JobRow { id: string; kind: string; target: string; state: string; done: number; total: number; error: string | null; result: string | null; created: string; finished: string | null }

/** The embedded SQLite store: definitions, volume records, jobs and the operation journal. */
export class Store {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    // Stores made before pools had sources.
    const columns = this.db.prepare('PRAGMA table_info(pools)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'source')) this.db.exec('ALTER TABLE pools ADD COLUMN source TEXT');
  }

  close(): void {
    this.db.close();
  }

  /** Runs `fn` in one transaction. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // pools

  listPools(): PoolRecord[] {
    return (this.db.prepare('SELECT * FROM pools ORDER BY name').all() as PoolRow[]).map(toPool);
  }

  getPool(name: string): PoolRecord | undefined {
    const row = this.db.prepare('SELECT * FROM pools WHERE name = ?').get(name) as PoolRow | undefined;
    return row && toPool(row);
  }

  insertPool(p: PoolRecord): void {
    this.db
      .prepare('INSERT INTO pools (name, type, target, autostart, built, active, boot_id, created, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(p.name, p.type, p.target, p.autostart ? 1 : 0, p.built && JSON.stringify(p.built), p.active ? 1 : 0, p.bootId, p.created, p.source ? JSON.stringify(p.source) : null);
  }

  updatePool(name: string, patch: Partial<Pick<PoolRecord, 'autostart' | 'built' | 'active' | 'bootId' | 'source'>>): void {
    const sets: string[] = [];
    const values: unknown[] = [];
    if (patch.autostart !== undefined) (sets.push('autostart = ?'), values.push(patch.autostart ? 1 : 0));
    if (patch.built !== undefined) (sets.push('built = ?'), values.push(patch.built && JSON.stringify(patch.built)));
    if (patch.active !== undefined) (sets.push('active = ?'), values.push(patch.active ? 1 : 0));
    if (patch.bootId !== undefined) (sets.push('boot_id = ?'), values.push(patch.bootId));
    if (patch.source !== undefined) (sets.push('source = ?'), values.push(JSON.stringify(patch.source)));
    if (sets.length === 0) return;
    this.db.prepare(`UPDATE pools SET ${sets.join(', ')} WHERE name = ?`).run(...values, name);
  }

  deletePool(name: string): void {
    this.db.prepare('DELETE FROM pools WHERE name = ?').run(name);
  }

  // volumes

  listVolumes(pool: string): VolumeRecord[] {
    return (this.db.prepare('SELECT * FROM volumes WHERE pool = ? ORDER BY name').all(pool) as VolumeRow[]).map(toVolume);
  }

  countVolumes(pool: string): number {
    return (this.db.prepare('SELECT count(*) AS n FROM volumes WHERE pool = ?').get(pool) as { n: number }).n;
  }

  getVolume(pool: string, name: string): VolumeRecord | undefined {
    const row = this.db.prepare('SELECT * FROM volumes WHERE pool = ? AND name = ?').get(pool, name) as VolumeRow | undefined;
    return row && toVolume(row);
  }

  /** Inserts or replaces a volume record (matched by key). */
  putVolume(v: VolumeRecord): void {
    this.db
      .prepare('INSERT OR REPLACE INTO volumes (key, pool, name, managed, created, facts) VALUES (?, ?, ?, ?, ?, ?)')
      .run(v.key, v.pool, v.name, v.managed ? 1 : 0, v.created, JSON.stringify(v.facts));
  }

  deleteVolume(key: string): void {
    this.db.prepare('DELETE FROM volumes WHERE key = ?').run(key);
  }

  // jobs

  listJobs(limit = 200): JobInfo[] {
    return (this.db.prepare('SELECT * FROM jobs ORDER BY created DESC, id DESC LIMIT ?').all(limit) as JobRow[]).map(toJob);
  }

  getJob(id: string): JobInfo | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row && toJob(row);
  }

  putJob(j: JobInfo): void {
    this.db
      .prepare('INSERT OR REPLACE INTO jobs (id, kind, target, state, done, total, error, result, created, finished) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(j.id, j.kind, j.target, j.state, j.progress.done, j.progress.total, j.error ? JSON.stringify(j.error) : null,
        j.result === undefined ? null : JSON.stringify(j.result), j.created, j.finished ?? null);
  }

  /** Marks jobs left running by a previous daemon as failed; returns how many. */
  failInterruptedJobs(now: string): number {
    const error = JSON.stringify({ code: 'INTERRUPTED', message: 'the daemon stopped while the job ran' });
    return this.db.prepare("UPDATE jobs SET state = 'failed', error = ?, finished = ? WHERE state = 'running'").run(error, now).changes;
  }

  // networks and ports (definitions kept as JSON: the columns are the keys)

  listNetworks(): NetworkRecord[] {
    return (this.db.prepare('SELECT * FROM networks ORDER BY name').all() as NetworkRow[]).map(toNetwork);
  }

  getNetwork(name: string): NetworkRecord | undefined {
    const row = this.db.prepare('SELECT * FROM networks WHERE name = ?').get(name) as NetworkRow | undefined;
    return row && toNetwork(row);
  }

  putNetwork(n: NetworkRecord): void {
    const { active, bootId, changes, created, ...definition } = n;
    this.db
      // An upsert, not a REPLACE: replacing the row would delete its ports (ON DELETE CASCADE).
      .prepare(
        `INSERT INTO networks (name, definition, active, boot_id, changes, created) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, active = excluded.active, boot_id = excluded.boot_id, changes = excluded.changes`,
      )
      .run(n.name, JSON.stringify(definition), active ? 1 : 0, bootId, changes ? JSON.stringify(changes) : null, created);
  }

  deleteNetwork(name: string): void {
    this.db.prepare('DELETE FROM networks WHERE name = ?').run(name);
  }

  listPorts(network?: string): PortRecord[] {
    const rows = network === undefined
      ? this.db.prepare('SELECT * FROM ports ORDER BY network, name').all()
      : this.db.prepare('SELECT * FROM ports WHERE network = ? ORDER BY name').all(network);
    return (rows as { definition: string; created: string }[]).map((r) => ({ ...(JSON.parse(r.definition) as PortDefinition), created: r.created }));
  }

  putPort(p: PortRecord): void {
    const { created, ...definition } = p;
    this.db
      .prepare('INSERT OR REPLACE INTO ports (network, name, ifname, definition, created) VALUES (?, ?, ?, ?, ?)')
      .run(p.network, p.name, p.ifname, JSON.stringify(definition), created);
  }

  deletePort(network: string, name: string): void {
    this.db.prepare('DELETE FROM ports WHERE network = ? AND name = ?').run(network, name);
  }

  // VMs

  listVms(): VmRecord[] {
    return (this.db.prepare('SELECT * FROM vms ORDER BY name').all() as VmRow[]).map(toVm);
  }

  getVm(name: string): VmRecord | undefined {
    const row = this.db.prepare('SELECT * FROM vms WHERE name = ?').get(name) as VmRow | undefined;
    return row && toVm(row);
  }

  putVm(v: VmRecord): void {
    const { runtime, created, ...definition } = v;
    this.db
      .prepare('INSERT OR REPLACE INTO vms (name, definition, runtime, created) VALUES (?, ?, ?, ?)')
      .run(v.name, JSON.stringify(definition), JSON.stringify(runtime), created);
  }

  deleteVm(name: string): void {
    this.db.prepare('DELETE FROM vms WHERE name = ?').run(name);
  }

  // journal

  addJournal(kind: string, data: Record<string, unknown>, now: string): number {
    return Number(this.db.prepare('INSERT INTO journal (kind, data, created) VALUES (?, ?, ?)').run(kind, JSON.stringify(data), now).lastInsertRowid);
  }

  removeJournal(id: number): void {
    this.db.prepare('DELETE FROM journal WHERE id = ?').run(id);
  }

  listJournal(): JournalEntry[] {
    return (this.db.prepare('SELECT * FROM journal ORDER BY id').all() as { id: number; kind: string; data: string; created: string }[]).map((r) => ({
      id: r.id,
      kind: r.kind,
      data: JSON.parse(r.data) as Record<string, unknown>,
      created: r.created,
    }));
  }
}

function toPool(r: PoolRow): PoolRecord {
  return {
    name: r.name,
    type: r.type as PoolRecord['type'],
    target: r.target,
    autostart: r.autostart === 1,
    built: r.built ? (JSON.parse(r.built) as string[]) : null,
    active: r.active === 1,
    bootId: r.boot_id,
    created: r.created,
    ...(r.source ? { source: JSON.parse(r.source) as PoolSource } : {}),
  };
}

function toNetwork(r: NetworkRow): NetworkRecord {
  return {
    ...(JSON.parse(r.definition) as NetworkDefinition),
    active: r.active === 1,
    bootId: r.boot_id,
    changes: r.changes ? (JSON.parse(r.changes) as UplinkChanges) : null,
    created: r.created,
  };
}

function toVm(r: VmRow): VmRecord {
  return { ...(JSON.parse(r.definition) as VmDefinition), runtime: JSON.parse(r.runtime) as VmRuntime, created: r.created };
}

function toVolume(r: VolumeRow): VolumeRecord {
  return { key: r.key, pool: r.pool, name: r.name, managed: r.managed === 1, created: r.created, facts: JSON.parse(r.facts) as VolumeFacts };
}

function toJob(r: JobRow): JobInfo {
  const job: JobInfo = { id: r.id, kind: r.kind, target: r.target, state: r.state as JobInfo['state'], progress: { done: r.done, total: r.total }, created: r.created };
  if (r.finished) job.finished = r.finished;
  if (r.error) job.error = JSON.parse(r.error) as JobInfo['error'];
  if (r.result) job.result = JSON.parse(r.result) as unknown;
  return job;
}
