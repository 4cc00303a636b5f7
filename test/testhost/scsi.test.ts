import { test } from 'node:test';
import { skipWithoutTestHost } from './testhost.js';
import { runInsideTestHost } from './run-inside.js';

test('scsi pools on a real SCSI adapter (scsi_debug): discovery, disks as volumes, rescan (test host)', async (t) => {
  if (await skipWithoutTestHost(t)) return;
  await runInsideTestHost('scsi.inside.js', []);
});
