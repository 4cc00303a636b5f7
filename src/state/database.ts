import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

/**
 * Opens the SQLite store and brings its schema up to date: migrations run in order, each in a
 * transaction, and `PRAGMA user_version` records the last one applied.
 */
export function openDatabase(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    db.close();
    throw new Error(`the store ${file} is at schema version ${current}, newer than this kvmpool knows (${MIGRATIONS.length})`);
  }
  for (const [i, migrate] of MIGRATIONS.entries()) {
    const version = i + 1;
    if (version <= current) continue;
    db.transaction(() => {
      migrate(db);
      db.pragma(`user_version = ${version}`);
    })();
  }
  return db;
}
