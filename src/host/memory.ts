import v8 from 'node:v8';
import vm from 'node:vm';

/** How long after a burst of work memory is given back: one collection however many bursts meanwhile. */
const SETTLE_MS = 1000;
/** Work on fewer items than this (volumes read or listed) leaves too little garbage to bother. */
const LARGE = 1000;

let collect: (() => void) | undefined | null;

/**
 * V8's full collection, obtained at run time (no command-line flag needed), or null where this Node
 * does not allow it (then memory is left to V8). Quirk: the flag exposes `gc` only to contexts made
 * after it is set, so a new context hands it over; it collects the whole heap.
 */
function collector(): (() => void) | null {
  if (collect === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      const gc: unknown = vm.runInNewContext('typeof gc === "function" ? gc : null');
      collect = typeof gc === 'function' ? (gc as () => void) : null;
    } catch {
      collect = null;
    }
  }
  return collect;
}

/** Whether this Node lets the daemon give memory back (else it is left to V8). */
export function canReleaseMemory(): boolean {
  return collector() !== null;
}

let pending: NodeJS.Timeout | undefined;

/**
 * Asks for a full collection shortly after a burst of work on `items` volumes (reading a whole pool,
 * a listing) when it was large: V8 grows its heap for the burst and keeps it long after. Collected
 * once the work settles, the daemon gives it back, at the cost of one short pause (tens of ms per
 * 100 MB of heap).
 */
export function releaseMemorySoon(items: number): void {
  if (items < LARGE || pending) return;
  pending = setTimeout(() => {
    pending = undefined;
    collector()?.();
  }, SETTLE_MS);
  pending.unref();
}
