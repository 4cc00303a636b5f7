import { test } from 'node:test';
import { testHostMissing } from './testhost.js';
import { runInsideTestHost } from './run-inside.js';

const missing = await testHostMissing();
const GiB = 1024 ** 3;

test('logical pools pass the storage driver conformance suite on a real kernel (test host)', { skip: missing }, async () => {
  await runInsideTestHost('logical-conformance.inside.js', [GiB, GiB]);
});
