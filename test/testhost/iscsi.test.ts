import { test } from 'node:test';
import { skipWithoutTestHost } from './testhost.js';
import { runInsideTestHost } from './run-inside.js';

test('iscsi pools on a real LIO target: two portals, mutual CHAP, LUNs used and copied, no session left after any failure (test host)', async (t) => {
  if (await skipWithoutTestHost(t)) return;
  const output = await runInsideTestHost('iscsi.inside.js', [512 * 1024 ** 2, 256 * 1024 ** 2], { guest: true });
  for (const line of output.split('\n').filter((l) => l.includes('# figure:'))) t.diagnostic(line.slice(line.indexOf('figure:')));
});
