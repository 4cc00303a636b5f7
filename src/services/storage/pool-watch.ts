import type { VolumeWatch } from '../../drivers/storage/driver.js';
import type { ServiceContext } from '../context.js';
import type { ActivePool, PoolGate } from './pool-gate.js';
import { reconcile } from './reconcile.js';
import type { VolumeRecords } from './volume-records.js';

/**
 * How long changes gather before they are read: files come and go at once; written files are read at
 * most every 10 s (a running VM writes its disk all the time, and a changed qcow2 costs a qemu-img).
 */
const GATHER_MS = { entry: 100, content: 10_000 } as const;
/** More changes than this at once may have overflowed the kernel's queue, which says nothing of it. */
const FLOOD = 4096;

interface Watch {
  pool: ActivePool;
  handle?: VolumeWatch;
  dirty: Set<string>;
  /** Not to be trusted (never read whole since it started, or it lost track): listings read the whole pool. */
  stale: boolean;
  /** Counts the times it lost track: a whole read trusts it again only if none came meanwhile. */
  losses: number;
  timer?: NodeJS.Timeout;
  /** The timer is the short one (a file came or went). */
  soon?: boolean;
  /** The reading in progress; it never fails (a failure makes the watch stale). */
  reading?: Promise<void>;
}

/**
 * Keeps the store's records of running pools in step with their storage's change signals, so a
 * listing answers from the store and only the volumes a signal named are read again. A pool whose
 * type has no signal, or whose signal is not trusted (until the pool is read whole), is read whole by
 * the next listing.
 */
export class PoolWatches {
  private readonly watches = new Map<string, Watch>();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly gate: PoolGate,
    private readonly records: VolumeRecords,
  ) {}

  /** Starts watching a running pool; it is trusted once the pool has been read whole after this. */
  async start(pool: ActivePool): Promise<void> {
    const name = pool.rec.name;
    this.closeWatch(name);
    if (!pool.driver.watch) return;
    const w: Watch = { pool, dirty: new Set(), stale: true, losses: 0 };
    this.watches.set(name, w);
    const lost = (reason: string) => {
      if (!w.stale) this.ctx.log(`pool ${name}: ${reason}: its next listing reads the whole pool`);
      w.stale = true;
      w.losses++;
      w.dirty.clear();
    };
    try {
      const handle = await pool.driver.watch(pool.def, {
        changed: (names, what) => {
          for (const n of names) w.dirty.add(n);
          if (w.dirty.size >= FLOOD) return lost(`more than ${FLOOD} changes at once`);
          if (w.timer && (what === 'content' || w.soon)) return;
          clearTimeout(w.timer);
          w.soon = what === 'entry';
          w.timer = setTimeout(() => void this.read(name), GATHER_MS[what]).unref();
        },
        lost,
      });
      if (this.watches.get(name) === w) w.handle = handle;
      else handle.close();
    } catch (e) {
      // inotify has limits (max_user_watches): without a watch, listings read the whole pool.
      this.ctx.log(`pool ${name}: its storage cannot be watched (${e instanceof Error ? e.message : String(e)}): its listings read the whole pool`);
      this.closeWatch(name);
    }
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
   * pool has no trustworthy signal: the caller reads the whole pool, then calls `caughtUp` with the
   * `epoch` it took before.
   */
  async current(name: string): Promise<boolean> {
    const w = this.watches.get(name);
    if (!w?.handle || w.stale) return false;
    if (!(await w.handle.intact())) {
      this.ctx.log(`pool ${name}: its storage is no longer what was watched: watched anew, and read whole`);
      await this.start(w.pool);
      return false;
    }
    await w.handle.settle?.();
    await this.read(name);
    return !w.stale;
  }

  /** Where the pool's watch stands, taken before a whole read (see `caughtUp`). */
  epoch(name: string): number {
    return this.watches.get(name)?.losses ?? 0;
  }

  /** Makes the next listing read the whole pool. */
  lost(name: string): void {
    const w = this.watches.get(name);
    if (!w) return;
    w.stale = true;
    w.losses++;
  }

  /** The whole pool was just read, from `epoch` on: the watch is trusted, unless it lost track meanwhile. */
  caughtUp(name: string, epoch: number): void {
    const w = this.watches.get(name);
    if (w && w.losses === epoch) w.stale = false;
  }

  /**
   * Reads the volumes the signal named. Those an operation holds are named again for later (the
   * operation records what it does, not what others did meanwhile). A failure makes the pool stale (a
   * listing reads it whole, and reports).
   */
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
      .then((held) => {
        if (held.length === 0 || this.watches.get(name) !== w) return;
        for (const n of held) w.dirty.add(n);
        w.timer ??= setTimeout(() => void this.read(name), GATHER_MS.content).unref();
      })
      .catch((e: unknown) => {
        this.lost(name);
        this.ctx.log(`pool ${name}: reading ${names.length} changed volume(s) failed: ${e instanceof Error ? e.message : String(e)}`);
      })
      .finally(() => (w.reading = undefined));
    await w.reading;
  }

  private closeWatch(name: string): void {
    const w = this.watches.get(name);
    if (!w) return;
    clearTimeout(w.timer);
    w.handle?.close();
    this.watches.delete(name);
  }
}
