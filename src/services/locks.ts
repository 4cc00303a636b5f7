import { errors } from '../model/errors.js';

interface Holder {
  op: string;
  queue: (() => void)[];
}

/**
 * Named locks held across async work. Operations on the same name wait their turn (`acquire`);
 * destructive ones that must not wait use `tryAcquire`, which fails with IN_USE naming the holder.
 */
export class LockManager {
  private readonly held = new Map<string, Holder>();

  /** What holds `name` now, if anything. */
  holder(name: string): string | undefined {
    return this.held.get(name)?.op;
  }

  /** Waits for `name`, then holds it; call the returned function to release. */
  async acquire(name: string, op: string): Promise<() => void> {
    const current = this.held.get(name);
    if (current) {
      await new Promise<void>((resolve) => current.queue.push(resolve));
      const next = this.held.get(name)!;
      next.op = op;
    } else {
      this.held.set(name, { op, queue: [] });
    }
    return this.releaser(name);
  }

  /** Holds `name` now or fails with IN_USE. */
  tryAcquire(name: string, op: string, what: string): () => void {
    const current = this.held.get(name);
    if (current) throw errors.inUse(`${what} is busy: ${current.op} in progress`, { name, operation: current.op });
    this.held.set(name, { op, queue: [] });
    return this.releaser(name);
  }

  /** Runs `fn` holding `name`. */
  async with<T>(name: string, op: string, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(name, op);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private releaser(name: string): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const h = this.held.get(name);
      if (!h) return;
      const next = h.queue.shift();
      if (next) next();
      else this.held.delete(name);
    };
  }
}
