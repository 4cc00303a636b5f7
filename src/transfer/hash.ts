import { Worker } from 'node:worker_threads';

/** Size of one slot of shared memory the hashing thread reads from. */
const SLOT = 4 * 1024 * 1024;
/** Slots per hash: how far the caller may run ahead of the hashing thread. */
const SLOTS = 16;

/** Rings of shared slots no longer in use: memory that has been touched once is much cheaper to reuse. */
const spareRings: SharedArrayBuffer[] = [];

/**
 * A sha256 over content that arrives as data and holes (holes count as zeros), computed on a worker
 * thread so that hashing overlaps the transfer's reads and writes. `data` copies the bytes into a ring
 * of shared memory slots, gathering small pieces into full slots (the caller may reuse its buffer at
 * once), and waits while every slot is queued. Call `hex` once, at the end, or `close` to stop early.
 */
export class ContentHash {
  private readonly worker = new Worker(new URL('./hash-worker.js', import.meta.url));
  private readonly ring = spareRings.pop() ?? new SharedArrayBuffer(SLOT * SLOTS);
  private readonly free: number[] = Array.from({ length: SLOTS }, (_, i) => i);
  private waiting: (() => void) | undefined;
  private digest: ((hex: string | Error) => void) | undefined;
  private failure: Error | undefined;
  private ended = false;
  /** The slot data is being gathered in (small pieces go to the worker as one message), and how full it is. */
  private filling: number | undefined;
  private filled = 0;
  /** Bytes of content hashed or queued so far. */
  bytes = 0;

  constructor() {
    // A hash left behind by an abandoned transfer must not keep the process alive.
    this.worker.unref();
    this.worker.on('message', (m: { done?: number; digest?: string }) => {
      if (m.done !== undefined) {
        this.free.push(m.done);
        const w = this.waiting;
        this.waiting = undefined;
        w?.();
      }
      if (m.digest !== undefined) this.digest?.(m.digest);
    });
    // A worker that dies must not leave a caller waiting for a slot or the digest forever.
    this.worker.on('error', (e) => {
      this.failure = e;
      const w = this.waiting;
      this.waiting = undefined;
      w?.();
      this.digest?.(e);
    });
    this.worker.postMessage({ ring: this.ring, slot: SLOT });
  }

  async data(chunk: Buffer): Promise<void> {
    for (let pos = 0; pos < chunk.length; ) {
      if (this.failure) throw this.failure;
      if (this.filling === undefined) {
        while (this.free.length === 0) await new Promise<void>((r) => (this.waiting = r));
        this.filling = this.free.pop()!;
      }
      const n = Math.min(SLOT - this.filled, chunk.length - pos);
      chunk.copy(Buffer.from(this.ring, this.filling * SLOT + this.filled, n), 0, pos, pos + n);
      this.filled += n;
      pos += n;
      if (this.filled === SLOT) this.post();
    }
    this.bytes += chunk.length;
  }

  zeros(length: number): void {
    if (length <= 0) return;
    this.post();
    this.worker.postMessage({ zeros: length });
    this.bytes += length;
  }

  /** Hands the slot being filled to the worker. */
  private post(): void {
    if (this.filling === undefined) return;
    this.worker.postMessage({ slot: this.filling, length: this.filled });
    this.filling = undefined;
    this.filled = 0;
  }

  /** The hex sha256 of everything given; ends the worker. */
  async hex(): Promise<string> {
    if (this.failure) throw this.failure;
    const out = await new Promise<string>((resolve, reject) => {
      this.digest = (d) => (d instanceof Error ? reject(d) : resolve(d));
      this.post();
      this.worker.postMessage({ digest: true });
    });
    await this.end();
    return out;
  }

  /** Stops the worker without a digest (a transfer that failed). */
  async close(): Promise<void> {
    await this.end();
  }

  private async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.worker.terminate();
    spareRings.push(this.ring);
  }
}
