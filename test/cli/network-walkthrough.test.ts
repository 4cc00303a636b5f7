import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../src/host/exec.js';
import { withServe, type CliResult } from '../helpers/cli.js';
import { NetLab } from '../helpers/netlab.js';

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}`);
  return r;
}

/** The README's network walk-through, step by step, with this test's names. */
test('the README network walk-through: define, start, ports, ping between namespaces, stop, undefine; the interface list ends as it began', async () => {
  const lab = new NetLab();
  const before = await NetLab.hostInterfaces();
  try {
    await withServe(async ({ k }) => {
      // The stand-in NIC: a veth whose far end is in an "outside" namespace.
      const [outside, uplink, far, lan] = [lab.name('out'), lab.name('up0'), lab.name('far0'), lab.name('lan')];
      await lab.netns('out');
      await lab.veth(uplink, far, { ns: outside, address: '10.77.0.1/24' });
      await run('ip', ['addr', 'add', '10.77.0.254/24', 'dev', uplink]);
      await run('ip', ['link', 'set', 'dev', uplink, 'up']);

      ok(await k('net', 'define', lan, '--kind', 'bridge', '--uplink', uplink), 'net define');
      const started = ok(await k('net', 'start', lan), 'net start').stdout;
      assert.match(started, /^state:\s+running$/m);
      const list = ok(await k('net', 'list'), 'net list').stdout;
      assert.match(list, /^NAME\s+KIND\s+STATE\s+BRIDGE\s+UPLINK/m);
      assert.match(list, new RegExp(`^${lan}\\s+bridge\\s+running\\s+${lan}\\s+${uplink}`, 'm'));

      for (const [vm, ip] of [['vm1', '10.77.0.11'], ['vm2', '10.77.0.12']] as const) {
        const peer = lab.name(`${vm}e`);
        const created = ok(await k('port', 'create', `${lan}/${vm}`, '--type', 'veth', '--peer', peer), 'port create').stdout;
        assert.match(created, new RegExp(`^peer:\\s+${peer}$`, 'm'));
        assert.match(created, /^mac:\s+52:54:00:/m);
        const ns = await lab.netns(vm);
        await lab.moveInto(peer, ns, `${ip}/24`);
      }
      const ports = ok(await k('port', 'list', lan), 'port list').stdout;
      assert.match(ports, /^vm1\s+veth\s+kv[0-9a-f]{8}\s+\S+\s+52:54:00:\S+\s+up\s+\(attached\)/m);
      const info = JSON.parse(ok(await k('--json', 'port', 'info', `${lan}/vm2`), 'port info').stdout) as Record<string, unknown>;
      for (const key of ['name', 'network', 'type', 'ifname', 'peer', 'mac', 'vlan', 'trunk', 'usedBy', 'attached']) assert.ok(key in info, key);
      assert.deepEqual([info['vlan'], info['trunk'], info['usedBy']], [null, null, null]);
      const net = JSON.parse(ok(await k('--json', 'net', 'info', lan), 'net info').stdout) as Record<string, unknown>;
      assert.deepEqual([net['name'], net['kind'], net['state'], net['bridge'], net['uplink'], net['vlan']], [lan, 'bridge', 'running', lan, uplink, null]);

      assert.ok(await lab.pings(lab.name('vm1'), '10.77.0.12'), 'vm1 pings vm2');
      assert.ok(await lab.pings(lab.name('vm2'), '10.77.0.1'), 'vm2 pings the outside');

      const refused = await k('net', 'stop', lan);
      assert.equal(refused.code, 5, refused.stderr);
      assert.match(refused.stderr, /ports in use: vm1, vm2.*\[IN_USE\]/);
      ok(await k('net', 'stop', lan, '--force'), 'net stop --force');
      ok(await k('net', 'undefine', lan), 'net undefine');
      assert.deepEqual(await lab.kvmpoolLeftovers(), []);
      assert.match(ok(await k('net', 'list'), 'net list').stdout, /^NAME/);
      assert.ok(!ok(await k('net', 'list'), 'net list').stdout.includes(lan));
      const bad = await k('net', 'define', 'x', '--kind', 'vlan', '--uplink', uplink, '--vlan', '4095');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /invalid VLAN id '4095': expected 1\.\.4094 \[INVALID_ARGUMENT\]/);
    });
  } finally {
    await lab.cleanup();
  }
  assert.deepEqual(await NetLab.hostInterfaces(), before);
});
