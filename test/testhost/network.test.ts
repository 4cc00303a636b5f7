import { test } from 'node:test';
import { skipWithoutTestHost } from './testhost.js';
import { runInsideTestHost } from './run-inside.js';

test('VLAN networks in both styles with real packets: same VLAN pings, different VLANs do not, a trunk carries its VLANs only (test host)', async (t) => {
  if (await skipWithoutTestHost(t)) return;
  await runInsideTestHost('vlan.inside.js', []);
});
