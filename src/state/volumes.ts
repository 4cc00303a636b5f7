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
const VolumeRow = Type.Object({ key: Type.String(), pool: Type.String(), name: Type.String(), managed: Type.Integer(), created: Type.String(), facts: Type.String() });
const COLUMNS = 'key, pool, name, managed, created, facts';

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

  list(pool: string): VolumeRecord[] {
    return this.sql(`SELECT ${COLUMNS} FROM volumes WHERE pool = ? ORDER BY name`).all(pool).map(toVolume);
  }

  /** At most `limit` volumes of the pool whose names sort after `after`, in name order. */
  page(pool: string, limit: number, after = ''): VolumeRecord[] {
    return this.sql(`SELECT ${COLUMNS} FROM volumes WHERE pool = ? AND name > ? ORDER BY name LIMIT ?`).all(pool, after, limit).map(toVolume);
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
    return this.sql(`SELECT ${COLUMNS} FROM volumes WHERE pool = ? AND name IN (SELECT value FROM json_each(?))`).all(pool, JSON.stringify(names)).map(toVolume);
  }

  get(pool: string, name: string): VolumeRecord | undefined {
    const row = this.sql(`SELECT ${COLUMNS} FROM volumes WHERE pool = ? AND name = ?`).get(pool, name);
    return row === undefined ? undefined : toVolume(row);
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

function toVolume(row: unknown): VolumeRecord {
  const r = decodeRow(VolumeRow, row, 'a volume');
  return { key: r.key, pool: r.pool, name: r.name, managed: r.managed === 1, created: r.created, facts: decodeJson(VolumeFactsSchema, r.facts, `volume ${r.pool}/${r.name}`) };
}
