import { test } from 'node:test';
import { skipWithoutTestHost } from './testhost.js';
import { runInsideTestHost } from './run-inside.js';

test('the network storage walk-through through the CLI: NFS and iSCSI pools, thin LVM on a LUN, an NFS server lost and back (test host)', async (t) => {
  if (await skipWithoutTestHost(t)) return;
  const output = await runInsideTestHost('walkthrough.inside.js', [512 * 1024 ** 2, 512 * 1024 ** 2]);
  for (const line of output.split('\n').filter((l) => l.includes('# figure:'))) t.diagnostic(line.slice(line.indexOf('figure:')));
});
