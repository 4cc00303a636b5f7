/** Passed to every driver call and job: cancellation, a logger, and a progress sink for long work. */
export interface OpContext {
  signal: AbortSignal;
  log: (message: string) => void;
  progress: (done: number, total: number) => void;
}

/** A context for short work that reports nothing and is never cancelled. */
export function quietContext(log: (message: string) => void = () => {}): OpContext {
  return { signal: new AbortController().signal, log, progress: () => {} };
}
