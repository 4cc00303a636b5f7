import type Database from 'better-sqlite3';
import type { ClusterMembership } from '../model/cluster.js';

/** This host's membership of a cluster: none, or one. */
export class ClusterRepository {
  constructor(private readonly db: Database.Database) {}

  get(): ClusterMembership | undefined {
    const row = this.db.prepare('SELECT membership FROM cluster WHERE id = 1').get() as { membership: string } | undefined;
    return row && (JSON.parse(row.membership) as ClusterMembership);
  }

  set(membership: ClusterMembership): void {
    this.db.prepare('INSERT INTO cluster (id, membership) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET membership = excluded.membership').run(JSON.stringify(membership));
  }
}
