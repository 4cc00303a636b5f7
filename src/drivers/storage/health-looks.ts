/**
 * Bounded looks at remote storage (a network mount's server, a Ceph cluster), shared by the callers of
 * a burst: each look runs in a process killed after its bound, an answer stays good for FRESH_MS, and
 * while the storage is known to be gone callers get that at once while a look in the background says
 * when it is back.
 */

/** How long an answer stays good: operations in a burst share one look. */
const FRESH_MS = 2000;

/** What the last look found: the storage's figures, or why it cannot be used. */
export type Health<T> = { ok: true; usage: T } | { ok: false; reason: string };

interface Looks<T> {
  at: number;
  last?: Health<T>;
  looking?: Promise<Health<T>>;
}

/** Looks at storage of one kind, by key (a mount point, a pool's cluster). */
export class HealthLooks<T> {
  private readonly byKey = new Map<string, Looks<T>>();

  /**
   * The storage's health, from a fresh look or one under way (see the module's comment): `look` asks
   * the storage (bounded by the caller), `reason` says what a failed look means.
   */
  async health(key: string, look: () => Promise<T>, reason: (e: unknown) => string): Promise<Health<T>> {
    let looks = this.byKey.get(key);
    if (!looks) this.byKey.set(key, (looks = { at: 0 }));
    if (looks.last && performance.now() - looks.at < FRESH_MS) return looks.last;
    if (!looks.looking) {
      const l = looks;
      l.looking = look()
        .then(
          (usage): Health<T> => ({ ok: true, usage }),
          (e: unknown): Health<T> => ({ ok: false, reason: reason(e) }),
        )
        .then((h) => {
          l.last = h;
          l.at = performance.now();
          l.looking = undefined;
          return h;
        });
    }
    if (looks.last && !looks.last.ok) return looks.last;
    return looks.looking!;
  }

  /** What the last look found, however old (undefined: none yet); never looks itself. */
  last(key: string): Health<T> | undefined {
    return this.byKey.get(key)?.last;
  }

  /** Forgets what was found (a new mount, a pool started again). */
  forget(key: string): void {
    this.byKey.delete(key);
  }
}
