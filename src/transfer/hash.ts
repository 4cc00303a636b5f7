import { Worker } from 'node:worker_threads';

/** How far the caller may run ahead of the hashing thread, in bytes of data not yet hashed. */
const MAX_QUEUED = 64 * 1024 * 1024;

/**
 * A sha256 over content that arrives as data and holes (holes count as zeros), computed on a worker
 * thread so that hashing overlaps the transfer's reads and writes. `data` copies the bytes (the caller
 * may reuse its buffer) and waits while too much is queued. Call `hex` once, at the end; `close` to
 * stop early.
 */
export class ContentHash {
  private readonly worker = new Worker(new URL('./hash-worker.js', import.meta.url));
  private queued = 0;
  private waiting: (() => void) | undefined;
  private digest: ((hex: string) => void) | undefined;
  private failure: Error | undefined;
  /** Bytes of content hashed or queued so far. */
  bytes = 0;

  constructor() {
    // A hash left behind by an abandoned transfer must not keep the process alive.
    this.worker.unref();
    this.worker.on('message', (m: { ack?: number; digest?: string }) => {
      if (m.ack !== undefined) {
        this.queued -= m.ack;
        if (this.queued <= MAX_QUEUED && this.waiting) {
          const w = this.waiting;
          this.waiting = undefined;
          w();
        }
      }
      if (m.digest !== undefined) this.digest?.(m.digest);
    });
    this.worker.on('error', (e) => (this.failure = e));
  }

  async data(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    this.worker.postMessage({ data: chunk });
    this.queued += chunk.length;
    this.bytes += chunk.length;
    if (this.queued > MAX_QUEUED) await new Promise<void>((r) => (this.waiting = r));
  }

  zeros(length: number): void {
    if (length <= 0) return;
    this.worker.postMessage({ zeros: length });
    this.queued += length;
    this.bytes += length;
  }

  /** The hex sha256 of everything given; ends the worker. */
  async hex(): Promise<string> {
    if (this.failure) throw this.failure;
    const out = await new Promise<string>((resolve) => {
      this.digest = resolve;
      this.worker.postMessage({ digest: true });
    });
    await this.worker.terminate();
    return out;
  }

  /** Stops the worker without a digest (a transfer that failed). */
  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
