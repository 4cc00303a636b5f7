import type Database from 'better-sqlite3';
import { Type } from 'typebox';
import type { VolumeFacts } from '../model/volume-types.js';
import { decodeJson } from './decode.js';

/** What the store keeps of a volume: identity, ownership, and the facts last read from the host. */
export interface VolumeRecord {
  key: string;
  pool: string;
  name: string;
  managed: boolean;
  created: string;
  facts: VolumeFacts;
}

const Facts = Type.Object({
  name: Type.String(),
  path: Type.String(),
  format: Type.String(),
  capacity: Type.Number(),
  allocation: Type.Number(),
  identity: Type.String(),
  stamp: Type.Optional(Type.String()),
  backingFile: Type.Optional(Type.String()),
  backingFormat: Type.Optional(Type.String()),
  backingVolume: Type.Optional(Type.String()),
  backingOutsidePool: Type.Optional(Type.Boolean()),
  snapshots: Type.Optional(Type.Number()),
  kind: Type.Optional(Type.String()),
  unreadable: Type.Optional(Type.Boolean()),
  warnings: Type.Optional(Type.Array(Type.String())),
});

interface VolumeRow { key: string; pool: string; name: string; managed: number; created: string; facts: string }

/** Volume records of all pools. */
export class VolumeRepository {
  constructor(private readonly db: Database.Database) {}

  list(pool: string): VolumeRecord[] {
    return (this.db.prepare('SELECT * FROM volumes WHERE pool = ? ORDER BY name').all(pool) as VolumeRow[]).map(toVolume);
  }

  count(pool: string): number {
    return (this.db.prepare('SELECT count(*) AS n FROM volumes WHERE pool = ?').get(pool) as { n: number }).n;
  }

  get(pool: string, name: string): VolumeRecord | undefined {
    const row = this.db.prepare('SELECT * FROM volumes WHERE pool = ? AND name = ?').get(pool, name) as VolumeRow | undefined;
    return row && toVolume(row);
  }

  /** Names of the pool's volumes whose backing file is the volume `name`. */
  backedBy(pool: string, name: string): string[] {
    const rows = this.db.prepare("SELECT name FROM volumes WHERE pool = ? AND json_extract(facts, '$.backingVolume') = ? ORDER BY name").all(pool, name) as { name: string }[];
    return rows.map((r) => r.name);
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

function toVolume(r: VolumeRow): VolumeRecord {
  return { key: r.key, pool: r.pool, name: r.name, managed: r.managed === 1, created: r.created, facts: decodeJson(Facts, r.facts, `volume ${r.pool}/${r.name}`) };
}
