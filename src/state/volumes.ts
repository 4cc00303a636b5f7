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

/** Volume records of all pools. */
export class VolumeRepository {
  constructor(private readonly db: Database.Database) {}

  list(pool: string): VolumeRecord[] {
    return this.db.prepare('SELECT * FROM volumes WHERE pool = ? ORDER BY name').all(pool).map(toVolume);
  }

  count(pool: string): number {
    return decodeRow(Count, this.db.prepare('SELECT count(*) AS n FROM volumes WHERE pool = ?').get(pool), 'a count').n;
  }

  get(pool: string, name: string): VolumeRecord | undefined {
    const row = this.db.prepare('SELECT * FROM volumes WHERE pool = ? AND name = ?').get(pool, name);
    return row === undefined ? undefined : toVolume(row);
  }

  /** Names of the pool's volumes whose backing file is the volume `name`. */
  backedBy(pool: string, name: string): string[] {
    const rows = this.db.prepare("SELECT name FROM volumes WHERE pool = ? AND json_extract(facts, '$.backingVolume') = ? ORDER BY name").all(pool, name);
    return rows.map((r) => decodeRow(Name, r, 'a volume').name);
  }

  /** Inserts or replaces a volume record (matched by key). */
  put(v: VolumeRecord): void {
    this.db
      .prepare('INSERT OR REPLACE INTO volumes (key, pool, name, managed, created, facts) VALUES (?, ?, ?, ?, ?, ?)')
      .run(v.key, v.pool, v.name, v.managed ? 1 : 0, v.created, JSON.stringify(v.facts));
  }

  delete(key: string): void {
    this.db.prepare('DELETE FROM volumes WHERE key = ?').run(key);
  }
}

function toVolume(row: unknown): VolumeRecord {
  const r = decodeRow(VolumeRow, row, 'a volume');
  return { key: r.key, pool: r.pool, name: r.name, managed: r.managed === 1, created: r.created, facts: decodeJson(VolumeFactsSchema, r.facts, `volume ${r.pool}/${r.name}`) };
}
