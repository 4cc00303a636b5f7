import type Database from 'better-sqlite3';
import { Type, type Static } from 'typebox';
import type { PoolDefinition } from '../model/pool-types.js';
import { decodeJson, decodeRow } from './decode.js';

/** A pool definition (its secrets aside) plus what kvmpool remembers about it. */
export interface PoolRecord extends Omit<PoolDefinition, 'secrets'> {
  /** The names of its secrets, kept in the secret store. */
  secretFields: string[];
  /** Directories (or other objects) that `build` created and `delete` may remove; null when not built. */
  built: string[] | null;
  /** Whether the pool was running; with `bootId` tells what to bring back after a daemon restart. */
  active: boolean;
  bootId: string | null;
  created: string;
}

/** What may change of a pool record after it is defined. */
export type PoolPatch = Partial<Pick<PoolRecord, 'autostart' | 'built' | 'active' | 'bootId' | 'source'>>;

const PoolRow = Type.Object({
  name: Type.String(), type: Type.String(), target: Type.String(), autostart: Type.Integer(), built: Type.Union([Type.String(), Type.Null()]),
  active: Type.Integer(), boot_id: Type.Union([Type.String(), Type.Null()]), created: Type.String(), source: Type.Union([Type.String(), Type.Null()]), secrets: Type.String(),
});
type PoolRow = Static<typeof PoolRow>;

const Built = Type.Array(Type.String());
const SecretFields = Type.Array(Type.String());
/** The source is checked against its pool type's schema by the service; here it must be an object. */
const Source = Type.Record(Type.String(), Type.Unknown());

/** Pool definitions and their state. */
export class PoolRepository {
  constructor(private readonly db: Database.Database) {}

  list(): PoolRecord[] {
    return this.db.prepare('SELECT * FROM pools ORDER BY name').all().map(toPool);
  }

  get(name: string): PoolRecord | undefined {
    const row = this.db.prepare('SELECT * FROM pools WHERE name = ?').get(name);
    return row === undefined ? undefined : toPool(row);
  }

  insert(p: PoolRecord): void {
    this.db
      .prepare('INSERT INTO pools (name, type, target, autostart, built, active, boot_id, created, source, secrets) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(p.name, p.type, p.target, p.autostart ? 1 : 0, p.built && JSON.stringify(p.built), p.active ? 1 : 0, p.bootId, p.created, JSON.stringify(p.source), JSON.stringify(p.secretFields));
  }

  update(name: string, patch: PoolPatch): void {
    const columns: [string, unknown][] = [];
    if (patch.autostart !== undefined) columns.push(['autostart', patch.autostart ? 1 : 0]);
    if (patch.built !== undefined) columns.push(['built', patch.built && JSON.stringify(patch.built)]);
    if (patch.active !== undefined) columns.push(['active', patch.active ? 1 : 0]);
    if (patch.bootId !== undefined) columns.push(['boot_id', patch.bootId]);
    if (patch.source !== undefined) columns.push(['source', JSON.stringify(patch.source)]);
    if (columns.length === 0) return;
    this.db.prepare(`UPDATE pools SET ${columns.map(([c]) => `${c} = ?`).join(', ')} WHERE name = ?`).run(...columns.map(([, v]) => v), name);
  }

  delete(name: string): void {
    this.db.prepare('DELETE FROM pools WHERE name = ?').run(name);
  }
}

function toPool(row: unknown): PoolRecord {
  const r = decodeRow(PoolRow, row, 'a pool');
  const what = `pool ${r.name}`;
  return {
    name: r.name,
    type: r.type,
    target: r.target,
    autostart: r.autostart === 1,
    built: r.built ? decodeJson(Built, r.built, what) : null,
    active: r.active === 1,
    bootId: r.boot_id,
    created: r.created,
    source: r.source ? decodeJson(Source, r.source, what) : {},
    secretFields: decodeJson(SecretFields, r.secrets, what),
  };
}
