import v8 from 'node:v8';
import vm from 'node:vm';

/** How long after a burst of work memory is given back: one collection however many bursts meanwhile. */
const SETTLE_MS = 1000;

/**
 * V8's full collection, obtained at run time (no command-line flag needed). Quirk: the flag exposes
 * `gc` only to contexts made after it is set, so a new context hands it over; it collects the whole heap.
 */
const collect = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

let pending: NodeJS.Timeout | undefined;

/**
 * Asks for a full collection shortly after a burst of work that made much garbage (reading a whole
 * pool, a large listing). V8 grows its heap for the burst and keeps it long after: collected while
 * idle, the daemon gives it back, at the cost of one short pause (tens of ms per 100 MB of heap).
 */
export function releaseMemorySoon(): void {
  if (pending) return;
  pending = setTimeout(() => {
    pending = undefined;
    collect();
  }, SETTLE_MS);
  pending.unref();
}
