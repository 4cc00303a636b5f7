import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

/**
 * The hashing thread of ParallelHash: takes `{ data }` (bytes) and `{ zeros }` (a count) messages in
 * order, acknowledges each with the bytes it covered, and answers `{ digest: true }` with the hex sha256.
 */
const hash = createHash('sha256');
const ZEROS = Buffer.alloc(4 * 1024 * 1024);

parentPort!.on('message', (m: { data?: Uint8Array; zeros?: number; digest?: boolean }) => {
  if (m.data) {
    hash.update(m.data);
    parentPort!.postMessage({ ack: m.data.length });
  } else if (m.zeros !== undefined) {
    for (let left = m.zeros; left > 0; left -= ZEROS.length) hash.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
    parentPort!.postMessage({ ack: m.zeros });
  } else if (m.digest) {
    parentPort!.postMessage({ digest: hash.digest('hex') });
  }
});
