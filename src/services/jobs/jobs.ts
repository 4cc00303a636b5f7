import { randomUUID } from 'node:crypto';
import { KvmpoolError, errors, toKvmpoolError } from '../../model/errors.js';
import type { JobInfo } from '../../model/job-types.js';
import type { Store } from '../../state/store.js';
import type { OpContext } from '../../model/op-context.js';
import type { EventBus } from '../events.js';

const PROGRESS_EVENT_INTERVAL_MS = 200;

interface RunningJob {
  info: JobInfo;
  controller: AbortController;
  done: Promise<void>;
  lastEvent: number;
}

/**
 * Runs long operations as jobs: each gets an id, progress, cancel, and events
 * (`job.started`, `job.progress`, `job.finished`). Finished jobs are kept in the store.
 */
export class JobManager {
  private readonly running = new Map<string, RunningJob>();

  constructor(
    private readonly store: Store,
    private readonly events: EventBus,
    private readonly log: (message: string) => void,
  ) {}

  /** Starts `work` as a job and returns at once. `work` gets the job's context; its result is kept. */
  start(kind: string, target: string, work: (ctx: OpContext) => Promise<unknown>): JobInfo {
    const info: JobInfo = { id: randomUUID(), kind, target, state: 'running', progress: { done: 0, total: 0 }, created: new Date().toISOString() };
    const controller = new AbortController();
    const job: RunningJob = { info, controller, done: Promise.resolve(), lastEvent: 0 };
    const ctx: OpContext = {
      signal: controller.signal,
      log: (m) => this.log(`job ${info.id} ${kind} ${target}: ${m}`),
      progress: (done, total) => this.progress(job, done, total),
    };
    this.store.jobs.put(info);
    this.running.set(info.id, job);
    this.events.emit('job.started', info.id, { ...info });
    job.done = work(ctx).then(
      (result) => this.finish(job, 'succeeded', undefined, result),
      (e: unknown) => this.finish(job, controller.signal.aborted ? 'cancelled' : 'failed', toKvmpoolError(e)),
    );
    return { ...info };
  }

  /** Like `start`, and also returns the work's outcome (for an operation that answers when it is done). */
  run<T>(kind: string, target: string, work: (ctx: OpContext) => Promise<T>): { job: JobInfo; done: Promise<T> } {
    let outcome!: Promise<T>;
    const job = this.start(kind, target, (ctx) => {
      outcome = work(ctx);
      return outcome;
    });
    return { job, done: outcome };
  }

  get(id: string): JobInfo {
    const live = this.running.get(id);
    if (live) return { ...live.info, progress: { ...live.info.progress } };
    const stored = this.store.jobs.get(id);
    if (!stored) throw errors.notFound('job', id);
    return stored;
  }

  list(): JobInfo[] {
    return this.store.jobs.list().map((j) => (this.running.has(j.id) ? this.get(j.id) : j));
  }

  /** Asks a running job to stop; the job ends as `cancelled` once its work has cleaned up. */
  cancel(id: string): JobInfo {
    const live = this.running.get(id);
    if (!live) {
      const stored = this.get(id);
      throw new KvmpoolError('JOB_FINISHED', `job ${id} already ${stored.state}`, { id, state: stored.state });
    }
    live.controller.abort();
    return this.get(id);
  }

  /** Resolves when the job has finished (whatever its outcome). */
  async wait(id: string): Promise<JobInfo> {
    await this.running.get(id)?.done;
    return this.get(id);
  }

  /** Cancels every running job and waits for them (daemon shutdown). */
  async shutdown(): Promise<void> {
    for (const j of this.running.values()) j.controller.abort();
    await Promise.all([...this.running.values()].map((j) => j.done));
  }

  private progress(job: RunningJob, done: number, total: number): void {
    job.info.progress = { done, total };
    const now = Date.now();
    if (now - job.lastEvent >= PROGRESS_EVENT_INTERVAL_MS) {
      job.lastEvent = now;
      this.events.emit('job.progress', job.info.id, { kind: job.info.kind, target: job.info.target, done, total });
    }
  }

  private finish(job: RunningJob, state: JobInfo['state'], error?: KvmpoolError, result?: unknown): void {
    const info = job.info;
    info.state = state;
    info.finished = new Date().toISOString();
    if (error) info.error = { code: state === 'cancelled' ? 'CANCELLED' : error.code, message: state === 'cancelled' ? 'cancelled' : error.message, details: error.details };
    if (result !== undefined) info.result = result;
    this.store.jobs.put(info);
    this.running.delete(info.id);
    this.events.emit('job.finished', info.id, { ...info });
  }
}
