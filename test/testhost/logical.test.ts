import { test } from 'node:test';
import { testHostMissing } from './testhost.js';
import { runInsideTestHost } from './run-inside.js';

const missing = await testHostMissing();
const GiB = 1024 ** 3;

test('logical pools pass the storage driver conformance suite on a real kernel (test host)', { skip: missing }, async () => {
  await runInsideTestHost('logical-conformance.inside.js', [GiB, GiB]);
});

test('a logical pool on real LVM: thin over-commit, snapshots, clones, layouts, online grow, extend, online pvmove (test host)', { skip: missing }, async (t) => {
  const output = await runInsideTestHost('logical-pool.inside.js', [GiB, GiB, GiB]);
  for (const line of output.split('\n').filter((l) => l.includes('# figure:'))) t.diagnostic(line.slice(line.indexOf('figure:')));
});

test('logical pools under bad input and faults: taken devices, full thin pools, cancelled pvmove, a failing disk (test host)', { skip: missing }, async () => {
  await runInsideTestHost('logical-faults.inside.js', [512 * 1024 ** 2, 512 * 1024 ** 2, 512 * 1024 ** 2, 8 * 1024 ** 2]);
});
