import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers/tmp.js';
import { runInTestHost, skipWithoutTestHost, testHostDisks } from './testhost.js';

test('the test host boots with disks, has device-mapper and 802.1Q, and reports a command\'s status and output', async (t) => {
  if (await skipWithoutTestHost(t)) return;
  const { dir, cleanup } = await tempDir();
  try {
    const [a, b] = testHostDisks(2);
    const script = [
      `test -b ${a} && test -b ${b}`,
      'grep -w device-mapper /proc/devices',
      `pvcreate -q ${a} ${b} && vgcreate -q kt ${a} ${b}`,
      'lvcreate -q --type thin-pool -L 64M -n pool kt && lvs --reportformat json -o lv_name,segtype kt',
      'ip link add kt0 type veth peer name kt1 && ip link add link kt0 name kt0.10 type vlan id 10 && ip -j link show kt0.10',
      'node -e "process.exitCode = 7"',
    ].join(' && ');
    const result = await runInTestHost({ work: dir, disks: [256 * 1024 ** 2, 256 * 1024 ** 2], command: ['/bin/sh', '-c', script], timeoutMs: 180_000 });
    assert.equal(result.status, 7, `${result.output}\n${result.boot}`);
    assert.match(result.output, /"segtype":"thin-pool"/);
    assert.match(result.output, /"ifname":"kt0\.10"/);
  } finally {
    await cleanup();
  }
});
