import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

/**
 * The hashing thread of ContentHash. First message: `{ ring, slot }` (shared memory and slot size).
 * Then, in order: `{ slot, length }` (bytes in a slot of the ring, answered with `{ done: slot }`),
 * `{ zeros }` (a count of zero bytes), and `{ digest: true }` (answered with the hex sha256).
 */
const hash = createHash('sha256');
const ZEROS = Buffer.alloc(4 * 1024 * 1024);
let ring: SharedArrayBuffer | undefined;
let slotSize = 0;

parentPort!.on('message', (m: { ring?: SharedArrayBuffer; slot?: number; length?: number; zeros?: number; digest?: boolean }) => {
  if (m.ring) {
    ring = m.ring;
    slotSize = m.slot!;
  } else if (m.length !== undefined) {
    hash.update(new Uint8Array(ring!, m.slot! * slotSize, m.length));
    parentPort!.postMessage({ done: m.slot });
  } else if (m.zeros !== undefined) {
    for (let left = m.zeros; left > 0; left -= ZEROS.length) hash.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
  } else if (m.digest) {
    parentPort!.postMessage({ digest: hash.digest('hex') });
  }
});
