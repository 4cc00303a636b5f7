import type Database from 'better-sqlite3';
import { Type } from 'typebox';
import type { VolumeFacts } from '../model/volume-types.js';
import { VolumeFactsSchema } from '../model/volume-schema.js';
import { decodeJson, decodeRow } from './decode.js';

/** What the store keeps of a volume: identity, ownership, and the facts last read from the host. */
export interface VolumeRecord {
  key: string;
  pool: string;
  name: string;
  managed: boolean;
  created: string;
  facts: VolumeFacts;
}

const Count = Type.Object({ n: Type.Integer() });
const Name = Type.Object({ name: Type.String() });
const Backer = Type.Object({ backing: Type.String(), name: Type.String() });
const COLUMNS = 'key, pool, name, managed, created, facts';
/**
 * What reads ask for, as arrays (better-sqlite3's raw mode: about twice as fast as objects, which a
 * listing of 100,000 volumes notices); the pool is the one asked for.
 */
const READ = 'key, name, managed, created, facts';
const VolumeRow = Type.Tuple([Type.String(), Type.String(), Type.Integer(), Type.String(), Type.String()]);

/** Volume records of all pools. Statements are prepared once: listings of 100,000 volumes run them often. */
export class VolumeRepository {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  private sql(text: string): Database.Statement {
    let s = this.statements.get(text);
    if (!s) {
      s = this.db.prepare(text);
      this.statements.set(text, s);
    }
    return s;
  }

  /** A statement reading volume rows (as arrays of the READ columns). */
  private rows(text: string): Database.Statement {
    const key = `rows:${text}`;
    let s = this.statements.get(key);
    if (!s) {
      s = this.db.prepare(text).raw(true);
      this.statements.set(key, s);
    }
    return s;
  }

  list(pool: string): VolumeRecord[] {
    return this.rows(`SELECT ${READ} FROM volumes WHERE pool = ? ORDER BY name`).all(pool).map((r) => toVolume(pool, r));
  }

  /** At most `limit` volumes of the pool whose names sort after `after`, in name order. */
  page(pool: string, limit: number, after = ''): VolumeRecord[] {
    return this.rows(`SELECT ${READ} FROM volumes WHERE pool = ? AND name > ? ORDER BY name LIMIT ?`).all(pool, after, limit).map((r) => toVolume(pool, r));
  }

  /** Names of the pool's volumes. */
  names(pool: string): string[] {
    return this.sql('SELECT name FROM volumes WHERE pool = ?').all(pool).map((r) => decodeRow(Name, r, 'a volume').name);
  }

  count(pool: string): number {
    return decodeRow(Count, this.sql('SELECT count(*) AS n FROM volumes WHERE pool = ?').get(pool), 'a count').n;
  }

  /** The records of the named volumes of a pool (those it has). */
  getMany(pool: string, names: readonly string[]): VolumeRecord[] {
    return this.rows(`SELECT ${READ} FROM volumes WHERE pool = ? AND name IN (SELECT value FROM json_each(?))`).all(pool, JSON.stringify(names)).map((r) => toVolume(pool, r));
  }

  get(pool: string, name: string): VolumeRecord | undefined {
    const row = this.rows(`SELECT ${READ} FROM volumes WHERE pool = ? AND name = ?`).get(pool, name);
    return row === undefined ? undefined : toVolume(pool, row);
  }

  /** For each of the named volumes that backs others, the names of those (sorted): one query for a page of a listing. */
  backersOf(pool: string, names: readonly string[]): Map<string, string[]> {
    const rows = this.sql('SELECT backing, name FROM volumes WHERE pool = ? AND backing IN (SELECT value FROM json_each(?)) ORDER BY backing, name').all(pool, JSON.stringify(names));
    const out = new Map<string, string[]>();
    for (const r of rows) {
      const { backing, name } = decodeRow(Backer, r, 'a volume');
      const list = out.get(backing);
      if (list) list.push(name);
      else out.set(backing, [name]);
    }
    return out;
  }

  /** Names of the pool's volumes whose backing file is the volume `name` (an indexed column). */
  backedBy(pool: string, name: string): string[] {
    return this.sql('SELECT name FROM volumes WHERE pool = ? AND backing = ? ORDER BY name').all(pool, name).map((r) => decodeRow(Name, r, 'a volume').name);
  }

  /** Inserts or replaces a volume record (matched by key). */
  put(v: VolumeRecord): void {
    this.sql(`INSERT OR REPLACE INTO volumes (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`).run(v.key, v.pool, v.name, v.managed ? 1 : 0, v.created, JSON.stringify(v.facts));
  }

  delete(key: string): void {
    this.sql('DELETE FROM volumes WHERE key = ?').run(key);
  }
}

function toVolume(pool: string, row: unknown): VolumeRecord {
  const [key, name, managed, created, facts] = decodeRow(VolumeRow, row, 'a volume');
  return { key, pool, name, managed: managed === 1, created, facts: decodeJson(VolumeFactsSchema, facts, `volume ${pool}/${name}`) };
}
