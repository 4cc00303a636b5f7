import type Database from 'better-sqlite3';
import { Type } from 'typebox';
import { decodeJson, decodeRow } from './decode.js';

/** One entry of the operation journal: a multi-step host change in flight. */
export interface JournalEntry {
  id: number;
  kind: string;
  data: Record<string, unknown>;
  created: string;
}

const Data = Type.Record(Type.String(), Type.Unknown());
const Row = Type.Object({ id: Type.Integer(), kind: Type.String(), data: Type.String(), created: Type.String() });

/** The operation journal: what a crash interrupted is repaired from it on the next start. */
export class JournalRepository {
  constructor(private readonly db: Database.Database) {}

  add(kind: string, data: Record<string, unknown>, now: string): number {
    return Number(this.db.prepare('INSERT INTO journal (kind, data, created) VALUES (?, ?, ?)').run(kind, JSON.stringify(data), now).lastInsertRowid);
  }

  remove(id: number): void {
    this.db.prepare('DELETE FROM journal WHERE id = ?').run(id);
  }

  list(): JournalEntry[] {
    return this.db.prepare('SELECT * FROM journal ORDER BY id').all().map((row) => {
      const r = decodeRow(Row, row, 'a journal entry');
      return { id: r.id, kind: r.kind, data: decodeJson(Data, r.data, `journal entry ${r.id}`), created: r.created };
    });
  }
}
