import { test } from 'node:test';
import { skipWithoutTestHost } from './testhost.js';
import { runInsideTestHost } from './run-inside.js';

const GiB = 1024 ** 3;

test('netfs pools on real NFS and Samba servers: conformance, bad input, a server that goes away (test host)', async (t) => {
  if (await skipWithoutTestHost(t)) return;
  const output = await runInsideTestHost('netfs.inside.js', [GiB, GiB], { guest: true });
  for (const line of output.split('\n').filter((l) => l.includes('# figure:'))) t.diagnostic(line.slice(line.indexOf('figure:')));
});
