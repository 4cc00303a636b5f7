import { test } from 'node:test';
import { testHostMissing } from './testhost.js';
import { runInsideTestHost } from './run-inside.js';

const missing = await testHostMissing();

test('VLAN networks in both styles with real packets: same VLAN pings, different VLANs do not, a trunk carries its VLANs only (test host)', { skip: missing }, async () => {
  await runInsideTestHost('vlan.inside.js', []);
});
