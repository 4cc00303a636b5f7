import type { OpContext } from '../../src/model/op-context.js';

/** An operation context for driver calls in tests; records progress reports. */
export function opContext(signal?: AbortSignal): OpContext & { reports: [number, number][] } {
  const reports: [number, number][] = [];
  return { signal: signal ?? new AbortController().signal, log: () => {}, progress: (d, t) => void reports.push([d, t]), reports };
}
