import type { ServiceContext } from '../context.js';
import type { ActivePool, PoolGate } from './pool-gate.js';
import { reconcile } from './reconcile.js';
import type { VolumeRecords } from './volume-records.js';

/** How long changes gather before they are read: files come and go at once; written files are read at most every 2 s (a running VM writes its disk all the time). */
const GATHER_MS = { entry: 100, content: 2000 } as const;

interface Watch {
  close(): void;
  dirty: Set<string>;
  /** The signal lost track: the next listing reads the whole pool. */
  stale: boolean;
  timer?: NodeJS.Timeout;
  /** The timer is the short one (a file came or went). */
  soon?: boolean;
  reading?: Promise<void>;
}

/**
 * Keeps the store's records of running pools in step with their storage's change signals, so a
 * listing answers from the store and only the volumes a signal named are read again. A pool whose
 * type has no signal, or whose signal lost track, is read whole by the next listing.
 */
export class PoolWatches {
  private readonly watches = new Map<string, Watch>();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly gate: PoolGate,
    private readonly records: VolumeRecords,
  ) {}

  /** Starts watching a running pool (before it is read whole, so no change falls between). */
  start(pool: ActivePool): void {
    const name = pool.rec.name;
    this.closeWatch(name);
    if (!pool.driver.watch) return;
    const w: Watch = { close: () => {}, dirty: new Set(), stale: false };
    try {
      w.close = pool.driver.watch(pool.def, {
        changed: (names, what) => {
          for (const n of names) w.dirty.add(n);
          if (w.timer && (what === 'content' || w.soon)) return;
          clearTimeout(w.timer);
          w.soon = what === 'entry';
          w.timer = setTimeout(() => void this.read(name), GATHER_MS[what]).unref();
        },
        lost: (reason) => {
          if (!w.stale) this.ctx.log(`pool ${name}: ${reason}: its listings read the whole pool until its next refresh`);
          w.stale = true;
        },
      }).close;
    } catch (e) {
      // inotify has limits (max_user_watches): without a watch, listings read the whole pool.
      this.ctx.log(`pool ${name}: its storage cannot be watched (${e instanceof Error ? e.message : String(e)}): its listings read the whole pool`);
      return;
    }
    this.watches.set(name, w);
  }

  /** Stops watching a pool, after the reading in progress. */
  async stop(name: string): Promise<void> {
    const w = this.watches.get(name);
    this.closeWatch(name);
    await w?.reading;
  }

  /** Stops every watch (the daemon closes). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.watches.keys()].map((n) => this.stop(n)));
  }

  /**
   * Brings the pool's records up to date with what its signal told so far. Returns false when the
   * pool has no trustworthy signal (the caller reads the whole pool, then calls `caughtUp`).
   */
  async current(name: string): Promise<boolean> {
    const w = this.watches.get(name);
    if (!w || w.stale) return false;
    await this.read(name);
    return !w.stale;
  }

  /** Makes the next listing read the whole pool. */
  lost(name: string): void {
    const w = this.watches.get(name);
    if (w) w.stale = true;
  }

  /** The whole pool was just read: a signal that lost track is trusted again. */
  caughtUp(name: string): void {
    const w = this.watches.get(name);
    if (w) w.stale = false;
  }

  /** Reads the volumes the signal named; a failure makes the pool stale (a listing reads it whole and reports). */
  private async read(name: string): Promise<void> {
    const w = this.watches.get(name);
    if (!w) return;
    clearTimeout(w.timer);
    w.timer = undefined;
    // One reading at a time; names that came in meanwhile are read by the next.
    while (w.reading) await w.reading;
    if (w.dirty.size === 0 || this.watches.get(name) !== w) return;
    const names = [...w.dirty];
    w.dirty.clear();
    w.reading = this.gate
      .inPool(name, (p) => reconcile(this.ctx, this.records, p, names))
      .catch((e: unknown) => {
        w.stale = true;
        this.ctx.log(`pool ${name}: reading ${names.length} changed volume(s) failed: ${e instanceof Error ? e.message : String(e)}`);
      })
      .finally(() => (w.reading = undefined));
    await w.reading;
  }

  private closeWatch(name: string): void {
    const w = this.watches.get(name);
    if (!w) return;
    clearTimeout(w.timer);
    w.close();
    this.watches.delete(name);
  }
}
