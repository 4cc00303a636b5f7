import { observedElsewhere } from '../model/ignore.js';
/**
 * `promise`, or a rejection with `reason()` as soon as `signal` aborts. Unlike a race against one
 * long-lived promise, it leaves nothing behind once settled: each race adds a reaction to that
 * promise, and every result raced against it (a chunk of a transfer) would stay reachable until the end.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, reason: () => Error): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      promise.catch(observedElsewhere);
      reject(reason());
      return;
    }
    const onAbort = () => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
