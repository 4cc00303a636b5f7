import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { ClusterMembership } from '../model/cluster.js';

/** This host's id in clusters (made once, kept) and its membership of a cluster: none, or one. */
export class ClusterRepository {
  constructor(private readonly db: Database.Database) {}

  /** The id this host joins with: the same for every attempt, so a join whose answer was lost can be made again. */
  memberId(): string {
    this.db.prepare('INSERT INTO cluster (id, member_id) VALUES (1, ?) ON CONFLICT (id) DO NOTHING').run(randomUUID());
    return (this.db.prepare('SELECT member_id FROM cluster WHERE id = 1').get() as { member_id: string }).member_id;
  }

  get(): ClusterMembership | undefined {
    const row = this.db.prepare('SELECT membership FROM cluster WHERE id = 1').get() as { membership: string | null } | undefined;
    return row?.membership ? (JSON.parse(row.membership) as ClusterMembership) : undefined;
  }

  set(membership: ClusterMembership): void {
    this.memberId();
    this.db.prepare('UPDATE cluster SET membership = ? WHERE id = 1').run(JSON.stringify(membership));
  }
}
