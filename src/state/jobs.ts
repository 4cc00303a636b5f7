import type Database from 'better-sqlite3';
import { Type } from 'typebox';
import { JOB_STATES, type JobInfo } from '../model/job-types.js';
import { decodeJson, decodeRow } from './decode.js';

const JobError = Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Record(Type.String(), Type.Unknown())) });
const Result = Type.Unknown();

const JobRow = Type.Object({
  id: Type.String(), kind: Type.String(), target: Type.String(), state: Type.String(), done: Type.Number(), total: Type.Number(),
  error: Type.Union([Type.String(), Type.Null()]), result: Type.Union([Type.String(), Type.Null()]), created: Type.String(), finished: Type.Union([Type.String(), Type.Null()]),
});

/** Jobs, running and finished. */
export class JobRepository {
  constructor(private readonly db: Database.Database) {}

  list(limit = 200): JobInfo[] {
    return this.db.prepare('SELECT * FROM jobs ORDER BY created DESC, id DESC LIMIT ?').all(limit).map(toJob);
  }

  get(id: string): JobInfo | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id);
    return row === undefined ? undefined : toJob(row);
  }

  put(j: JobInfo): void {
    this.db
      .prepare('INSERT OR REPLACE INTO jobs (id, kind, target, state, done, total, error, result, created, finished) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(j.id, j.kind, j.target, j.state, j.progress.done, j.progress.total, j.error ? JSON.stringify(j.error) : null,
        j.result === undefined ? null : JSON.stringify(j.result), j.created, j.finished ?? null);
  }

  /** Marks jobs left running by a previous daemon as failed; returns how many. */
  failInterrupted(now: string): number {
    const error = JSON.stringify({ code: 'INTERRUPTED', message: 'the daemon stopped while the job ran' });
    return this.db.prepare("UPDATE jobs SET state = 'failed', error = ?, finished = ? WHERE state = 'running'").run(error, now).changes;
  }
}

function toJob(row: unknown): JobInfo {
  const r = decodeRow(JobRow, row, 'a job');
  const what = `job ${r.id}`;
  const state = JOB_STATES.find((s) => s === r.state) ?? 'failed';
  const job: JobInfo = { id: r.id, kind: r.kind, target: r.target, state, progress: { done: r.done, total: r.total }, created: r.created };
  if (r.finished) job.finished = r.finished;
  if (r.error) job.error = decodeJson(JobError, r.error, what);
  if (r.result) job.result = decodeJson(Result, r.result, what);
  return job;
}
