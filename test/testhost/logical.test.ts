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
