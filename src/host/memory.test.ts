import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canReleaseMemory, releaseMemorySoon } from './memory.js';

test("this Node hands over V8's full collection, which gives memory back after large work", async () => {
  // Without it the daemon still works, but keeps the heap a 100,000-volume listing grew to.
  assert.equal(canReleaseMemory(), true);
  const grown = Array.from({ length: 200_000 }, (_, i) => ({ name: `v${i}`, facts: { stamp: String(i) } }));
  assert.equal(grown.length, 200_000);
  const before = process.memoryUsage().heapUsed;
  releaseMemorySoon(200_000);
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(process.memoryUsage().heapUsed < before, 'the garbage of the large work was collected');
});
