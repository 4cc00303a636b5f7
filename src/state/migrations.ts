import type Database from 'better-sqlite3';

/**
 * Schema changes of the store, in order: migration N brings a store from version N-1 to N. Never edit
 * one that has shipped; add the next.
 */
export const MIGRATIONS: readonly ((db: Database.Database) => void)[] = [
  // 1: the tables. Stores made before versions were recorded hold them already, maybe without pools.source.
  (db) => {
    db.exec(`
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
`);
    const columns = db.prepare('PRAGMA table_info(pools)').all();
    if (!columns.some((c) => (c as { name?: unknown }).name === 'source')) db.exec('ALTER TABLE pools ADD COLUMN source TEXT');
  },
  // 2: volume facts name the volume a backing file is; facts read before that are read again (no stamp).
  (db) => {
    db.exec(`UPDATE volumes SET facts = json_remove(facts, '$.stamp')`);
    db.exec(`UPDATE pools SET source = '{}' WHERE source IS NULL`);
  },
  // 3: the names of a pool's secrets (their values are files of the secret store, never in here).
  (db) => {
    db.exec(`ALTER TABLE pools ADD COLUMN secrets TEXT NOT NULL DEFAULT '[]'`);
  },
  // 4: which volume backs which, indexed: a page of a listing asks it of each of its volumes.
  (db) => {
    db.exec(`ALTER TABLE volumes ADD COLUMN backing TEXT GENERATED ALWAYS AS (json_extract(facts, '$.backingVolume')) VIRTUAL`);
    db.exec('CREATE INDEX volumes_backing ON volumes (pool, backing, name)');
  },
  // 5: this host's id in clusters and its membership of one (one row at most; the cluster's own state is in etcd).
  (db) => {
    db.exec('CREATE TABLE cluster (id INTEGER PRIMARY KEY CHECK (id = 1), member_id TEXT NOT NULL, membership TEXT)');
  },
];
