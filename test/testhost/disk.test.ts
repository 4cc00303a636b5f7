import { test } from 'node:test';
import { testHostMissing } from './testhost.js';
import { runInsideTestHost } from './run-inside.js';

const missing = await testHostMissing();

test('disk pools: the conformance suite, four partitions, gaps, free extents, dos tables (test host)', { skip: missing }, async () => {
  await runInsideTestHost('disk.inside.js', [1024 ** 3, 256 * 1024 ** 2]);
});
