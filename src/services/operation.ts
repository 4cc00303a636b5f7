import type { ServiceContext } from './context.js';

/**
 * The one shape of a service operation, for storage, networks and VMs alike: it is counted and timed
 * under its name (`volume.delete`), holds its locks (taken in order, each waited for) for its whole
 * length, and reports what it changed with `announce`. Multi-step host changes inside use the
 * Reverter, and the journal (`journaled`) where a crash could leave them half done.
 */
export async function operate<T>(ctx: ServiceContext, name: string, locks: readonly string[], body: () => Promise<T>): Promise<T> {
  return ctx.metrics.observe(name, async () => {
    const held: (() => void)[] = [];
    try {
      for (const lock of locks) held.push(await ctx.locks.acquire(lock, name));
      return await body();
    } finally {
      for (const release of held.reverse()) release();
    }
  });
}

/** Tells event subscribers and the log what an operation did (`subject` is the kvmpool name: POOL, POOL/VOLUME, NET/PORT, a VM). */
export function announce(ctx: ServiceContext, type: string, subject: string, message: string, data?: unknown): void {
  ctx.events.emit(type, subject, data);
  ctx.log(message);
}

/**
 * Runs a multi-step change under a journal entry: the entry is written first and removed when `body`
 * is done, or failed and was reverted; a crash leaves it, and the next start repairs from it. With
 * `keepOnFailure` a failure leaves it too (a change whose repair completes it and is harmless when
 * the driver reverted it: a rename).
 */
export async function journaled<T>(ctx: ServiceContext, kind: string, data: Record<string, unknown>, body: () => Promise<T>, options: { keepOnFailure?: boolean } = {}): Promise<T> {
  const id = ctx.store.journal.add(kind, data, new Date().toISOString());
  let ok = false;
  try {
    const out = await body();
    ok = true;
    return out;
  } finally {
    if (ok || !options.keepOnFailure) ctx.store.journal.remove(id);
  }
}
