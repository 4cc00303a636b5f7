import type { Writable } from 'node:stream';
import { abortable } from './abortable.js';
import { PULL_WINDOW } from './sparse-reader.js';

class Closed extends Error {}

/**
 * Writes chunks to `out` with at most PULL_WINDOW of them not yet handed to the kernel (they may be
 * views of buffers the reader reuses after that). Returns false, having stopped reading `chunks`,
 * when `out` closes or fails first; true when everything was written. Does not end `out`.
 */
export async function writeWindowed(chunks: AsyncIterable<Buffer>, out: Writable): Promise<boolean> {
  const closed = new AbortController();
  const onClose = () => closed.abort();
  out.once('close', onClose);
  const gone = () => new Closed();
  try {
    const inFlight: Promise<void>[] = [];
    for await (const chunk of chunks) {
      if (out.destroyed || closed.signal.aborted) return false; // leaving the loop closes the source
      // A failed write is a closed stream too: its error reaches the stream's owner as an 'error' event.
      inFlight.push(new Promise<void>((resolve) => out.write(chunk, (e) => (e ? onClose() : resolve()))));
      if (inFlight.length >= PULL_WINDOW) await abortable(inFlight.shift()!, closed.signal, gone);
    }
    await abortable(Promise.all(inFlight), closed.signal, gone);
    return true;
  } catch (e) {
    if (e instanceof Closed) return false;
    throw e;
  } finally {
    out.off('close', onClose);
  }
}
