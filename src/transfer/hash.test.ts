import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { ContentHash } from './hash.js';

test('pieces of any size and zero runs, in any order, hash as the same bytes in one piece', async () => {
  const expected = createHash('sha256');
  const hash = new ContentHash();
  let bytes = 0;
  // Sizes around the 4 MiB slot: pieces that fill a slot exactly, straddle two, or are tiny.
  const sizes = [1, 4 * 1024 * 1024, 4 * 1024 * 1024 - 1, 2, 5 * 1024 * 1024, 17, 64 * 1024, 0, 9 * 1024 * 1024 + 3];
  for (let round = 0; round < 40; round++) {
    const size = round < sizes.length ? sizes[round]! : randomInt(0, 3 * 1024 * 1024);
    if (round % 3 === 2) {
      hash.zeros(size);
      expected.update(Buffer.alloc(size));
    } else {
      const piece = randomBytes(size);
      expected.update(Buffer.from(piece));
      await hash.data(piece);
      // The caller may reuse its buffer at once: what is hashed is what it held at the call.
      piece.fill(0xff);
    }
    bytes += size;
  }
  assert.equal(hash.bytes, bytes);
  assert.equal(await hash.hex(), expected.digest('hex'));
});


test('a hash closed with a half-filled slot leaves its ring fit for the next one', async () => {
  const abandoned = new ContentHash();
  await abandoned.data(randomBytes(3 * 1024 * 1024));
  await abandoned.close();
  const piece = randomBytes(5 * 1024 * 1024);
  const next = new ContentHash();
  await next.data(piece);
  next.zeros(1000);
  assert.equal(await next.hex(), createHash('sha256').update(piece).update(Buffer.alloc(1000)).digest('hex'));
});
