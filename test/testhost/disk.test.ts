import { test } from 'node:test';
import { skipWithoutTestHost } from './testhost.js';
import { runInsideTestHost } from './run-inside.js';

test('disk pools: the conformance suite, four partitions, gaps, free extents, dos tables (test host)', async (t) => {
  if (await skipWithoutTestHost(t)) return;
  await runInsideTestHost('disk.inside.js', [1024 ** 3, 256 * 1024 ** 2]);
});
