import { test } from 'node:test';
import { skipWithoutTestHost } from './testhost.js';
import { runInsideTestHost } from './run-inside.js';

const GiB = 1024 ** 3;

test('logical pools pass the storage driver conformance suite on a real kernel (test host)', async (t) => {
  if (await skipWithoutTestHost(t)) return;
  await runInsideTestHost('logical-conformance.inside.js', [GiB, GiB]);
});

test('a logical pool on real LVM: thin over-commit, snapshots, clones, layouts, online grow, extend, online pvmove (test host)', async (t) => {
  if (await skipWithoutTestHost(t)) return;
  const output = await runInsideTestHost('logical-pool.inside.js', [GiB, GiB, GiB]);
  for (const line of output.split('\n').filter((l) => l.includes('# figure:'))) t.diagnostic(line.slice(line.indexOf('figure:')));
});

test('logical pools under bad input and faults: taken devices, full thin pools, cancelled pvmove, a failing disk (test host)', async (t) => {
  if (await skipWithoutTestHost(t)) return;
  await runInsideTestHost('logical-faults.inside.js', [512 * 1024 ** 2, 512 * 1024 ** 2, 512 * 1024 ** 2, 8 * 1024 ** 2]);
});
