import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../../src/host/exec.js';
import { withDaemon, type TestDaemon } from '../../helpers/daemon.js';
import { NetLab } from '../../helpers/netlab.js';

/**
 * VLANs with real packets in the test host (this machine's kernel has no 802.1Q). Everybody is in one IP
 * subnet, 10.50.0.0/24, so only the VLANs keep hosts apart. Beyond the uplink, a "switch" namespace
 * splits the trunk into VLANs 10, 20 and 30, each with one outside host: 10.50.0.1, .2 and .3.
 */

const SUBNET = '10.50.0';

/** The uplink and the outside world beyond it; returns the uplink's name. */
async function outside(lab: NetLab): Promise<string> {
  const uplink = lab.name('up');
  const sw = await lab.netns('sw');
  await lab.veth(uplink, lab.name('far'), { ns: sw });
  for (const vlan of [10, 20, 30]) {
    const sub = `${lab.name('far')}.${vlan}`;
    await lab.in(sw, ['ip', 'link', 'add', 'link', lab.name('far'), 'name', sub, 'type', 'vlan', 'id', String(vlan)]);
    await lab.in(sw, ['ip', 'link', 'set', 'dev', sub, 'netns', await lab.netns(`o${vlan}`)]);
    await lab.in(lab.name(`o${vlan}`), ['ip', 'addr', 'add', `${SUBNET}.${vlan / 10}/24`, 'dev', sub]);
    await lab.in(lab.name(`o${vlan}`), ['ip', 'link', 'set', 'dev', sub, 'up']);
  }
  return uplink;
}

/** A veth port whose peer sits in a namespace of its own with `address`; returns the namespace. */
async function guest(t: TestDaemon, lab: NetLab, network: string, name: string, address: string | null, body: Record<string, unknown> = {}): Promise<string> {
  const port = await t.client.call('createPort', { params: { network }, body: { name, type: 'veth', ...body } as never });
  assert.equal(port.state, 'up');
  const ns = await lab.netns(name);
  await lab.moveInto(port.peer!, ns, address ? `${address}/24` : undefined);
  return ns;
}

const reach = (lab: NetLab, ns: string, host: number) => lab.pings(ns, `${SUBNET}.${host}`);
const noReach = async (lab: NetLab, ns: string, host: number) => !(await lab.pings(ns, `${SUBNET}.${host}`, 2));

test('per-VLAN bridges: two VLAN networks share one uplink as their trunk; hosts on one VLAN ping, across VLANs they do not', () =>
  withDaemon(async (t) => {
    const lab = new NetLab();
    const before = await NetLab.hostInterfaces();
    try {
      const uplink = await outside(lab);
      const [v10, v20] = [lab.name('v10'), lab.name('v20')];
      await t.client.call('defineNetwork', { body: { name: v10, kind: 'vlan', uplink, vlan: 10 } });
      await t.client.call('defineNetwork', { body: { name: v20, kind: 'vlan', uplink, vlan: 20 } });
      for (const n of [v10, v20]) {
        const info = await t.client.call('startNetwork', { params: { network: n } });
        assert.equal(info.state, 'running', JSON.stringify(info.drift));
      }
      assert.equal((await t.client.call('getNetwork', { params: { network: v10 } })).vlanDevice, `${uplink}.10`);
      const { stdout } = await run('ip', ['-j', '-d', 'link', 'show', 'dev', `${uplink}.20`]);
      const sub = JSON.parse(stdout)[0];
      assert.deepEqual([sub.linkinfo.info_data.id, sub.master], [20, v20]);

      const a1 = await guest(t, lab, v10, 'a1', `${SUBNET}.11`);
      const a2 = await guest(t, lab, v10, 'a2', `${SUBNET}.12`);
      const b1 = await guest(t, lab, v20, 'b1', `${SUBNET}.21`);
      assert.ok(await reach(lab, a1, 12), 'a1 reaches a2 (VLAN 10)');
      assert.ok(await reach(lab, a2, 1), 'a2 reaches the outside host of VLAN 10');
      assert.ok(await reach(lab, b1, 2), 'b1 reaches the outside host of VLAN 20');
      assert.ok(await noReach(lab, a1, 21), 'a1 (VLAN 10) does not reach b1 (VLAN 20)');
      assert.ok(await noReach(lab, a1, 2), 'a1 does not reach the outside host of VLAN 20');
      assert.ok(await noReach(lab, b1, 1), 'b1 does not reach the outside host of VLAN 10');

      await assert.rejects(t.client.call('createPort', { params: { network: v10 }, body: { name: 'x', vlan: 20 } }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(t.client.call('createPort', { params: { network: v10 }, body: { name: 'x', trunk: '10,20' } }), { code: 'NOT_SUPPORTED' });
      await assert.rejects(t.client.call('defineNetwork', { body: { name: lab.name('v10b'), kind: 'vlan', uplink, vlan: 10 } }), { code: 'ALREADY_EXISTS' });

      for (const n of [v10, v20]) {
        await assert.rejects(t.client.call('stopNetwork', { params: { network: n } }), { code: 'IN_USE' });
        await t.client.call('stopNetwork', { params: { network: n }, body: { force: true } });
        await t.client.call('undefineNetwork', { params: { network: n } });
      }
      assert.deepEqual(await lab.kvmpoolLeftovers(), []);
    } finally {
      await lab.cleanup();
    }
    assert.deepEqual(await NetLab.hostInterfaces(), before);
  }));

/** Packets an interface in `ns` received. */
async function received(lab: NetLab, ns: string, dev: string): Promise<number> {
  const { stdout } = await lab.in(ns, ['ip', '-j', '-s', 'link', 'show', 'dev', dev]);
  return JSON.parse(stdout)[0].stats64.rx.packets as number;
}

test('a VLAN-aware bridge: access ports keep VLANs apart, the uplink trunks the VLANs in use, a trunk port gets its VLANs tagged and no others', () =>
  withDaemon(async (t) => {
    const lab = new NetLab();
    const before = await NetLab.hostInterfaces();
    try {
      const uplink = await outside(lab);
      const net = lab.name('va');
      await t.client.call('defineNetwork', { body: { name: net, kind: 'vlan-aware', uplink } });
      const started = await t.client.call('startNetwork', { params: { network: net } });
      assert.equal(started.state, 'running', JSON.stringify(started.drift));

      const c1 = await guest(t, lab, net, 'c1', `${SUBNET}.11`, { vlan: 10 });
      const c2 = await guest(t, lab, net, 'c2', `${SUBNET}.12`, { vlan: 10 });
      const d1 = await guest(t, lab, net, 'd1', `${SUBNET}.21`, { vlan: 20 });
      const e1 = await guest(t, lab, net, 'e1', `${SUBNET}.31`, { vlan: 30 });
      const vlansOf = async (dev: string) => JSON.parse((await run('bridge', ['-j', 'vlan', 'show', 'dev', dev])).stdout)[0].vlans.map((v: { vlan: number }) => v.vlan);
      assert.deepEqual(await vlansOf(uplink), [1, 10, 20, 30], 'the uplink trunks the VLANs in use');

      assert.ok(await reach(lab, c1, 12), 'c1 reaches c2 (VLAN 10)');
      assert.ok(await reach(lab, c1, 1), 'c1 reaches the outside host of VLAN 10 through the trunk');
      assert.ok(await reach(lab, d1, 2), 'd1 reaches the outside host of VLAN 20');
      assert.ok(await reach(lab, e1, 3), 'e1 reaches the outside host of VLAN 30');
      assert.ok(await noReach(lab, c1, 21), 'c1 (VLAN 10) does not reach d1 (VLAN 20)');
      assert.ok(await noReach(lab, c2, 2), 'c2 does not reach the outside host of VLAN 20');
      assert.ok(await noReach(lab, d1, 11), 'd1 does not reach c1');

      // A trunk of VLANs 10 and 20: frames of both arrive tagged, frames of VLAN 30 never.
      const trunk = await guest(t, lab, net, 'tr', null, { trunk: '10,20' });
      const peer = (await t.client.call('getPort', { params: { network: net, port: 'tr' } })).peer!;
      assert.deepEqual((await t.client.call('getPort', { params: { network: net, port: 'tr' } })).trunk, [10, 20]);
      for (const vlan of [10, 20, 30]) {
        await lab.in(trunk, ['ip', 'link', 'add', 'link', peer, 'name', `${peer.slice(0, 10)}.${vlan}`, 'type', 'vlan', 'id', String(vlan)]);
        await lab.in(trunk, ['ip', 'link', 'set', 'dev', `${peer.slice(0, 10)}.${vlan}`, 'up']);
      }
      const counts = async () => Promise.all([10, 20, 30].map((v) => received(lab, trunk, `${peer.slice(0, 10)}.${v}`)));
      const start = await counts();
      // Pings of an absent address: broadcast ARP requests, flooded to every port of the sender's VLAN.
      for (const ns of [c1, d1, e1]) await lab.pings(ns, `${SUBNET}.99`, 2);
      const end = await counts();
      const got = end.map((n, i) => n - start[i]!);
      assert.ok(got[0]! >= 2, `VLAN 10 frames on the trunk: ${got[0]}`);
      assert.ok(got[1]! >= 2, `VLAN 20 frames on the trunk: ${got[1]}`);
      assert.equal(got[2], 0, 'no VLAN 30 frames on a trunk of 10 and 20');

      // A trunk of VLAN 10 whose native VLAN is 20: untagged, it is on VLAN 20 only.
      const native = await guest(t, lab, net, 'nt', `${SUBNET}.41`, { trunk: '10', native: 20 });
      assert.ok(await reach(lab, native, 2), 'the native VLAN (20) is carried untagged');
      assert.ok(await noReach(lab, native, 1), 'VLAN 10 arrives tagged, not on the untagged interface');

      // Bad port settings; a VLAN nobody uses leaves the uplink.
      await assert.rejects(t.client.call('createPort', { params: { network: net }, body: { name: 'x', vlan: 10, trunk: '20' } }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(t.client.call('createPort', { params: { network: net }, body: { name: 'x', native: 10 } }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(t.client.call('createPort', { params: { network: net }, body: { name: 'x', trunk: '20-4095' } }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(t.client.call('createPort', { params: { network: net }, body: { name: 'x', vlan: 5000 } }), { code: 'INVALID_ARGUMENT' });
      await t.client.call('deletePort', { params: { network: net, port: 'e1' }, query: { force: true } });
      assert.deepEqual(await vlansOf(uplink), [1, 10, 20]);

      await t.client.call('stopNetwork', { params: { network: net }, body: { force: true } });
      await t.client.call('undefineNetwork', { params: { network: net } });
      assert.deepEqual(await lab.kvmpoolLeftovers(), []);
    } finally {
      await lab.cleanup();
    }
    assert.deepEqual(await NetLab.hostInterfaces(), before);
  }));

test('an uplink that is a bond slave, or whose VLAN someone else already made, is refused', () =>
  withDaemon(async (t) => {
    const lab = new NetLab();
    try {
      const bond = lab.name('bo');
      await run('ip', ['link', 'add', 'name', bond, 'type', 'bond']);
      await run('ip', ['link', 'set', 'dev', bond, 'alias', 'kvmpool-test']);
      const slave = lab.name('s1');
      await lab.veth(slave, lab.name('s2'));
      await run('ip', ['link', 'set', 'dev', slave, 'master', bond]);
      await assert.rejects(t.client.call('defineNetwork', { body: { name: lab.name('n1'), kind: 'bridge', uplink: slave } }), { code: 'IN_USE', message: /bond/ });
      await assert.rejects(t.client.call('defineNetwork', { body: { name: lab.name('n2'), kind: 'vlan', uplink: slave, vlan: 10 } }), { code: 'IN_USE', message: /bond/ });

      const uplink = lab.name('up');
      await lab.veth(uplink, lab.name('far'));
      await run('ip', ['link', 'add', 'link', uplink, 'name', `${uplink}.40`, 'type', 'vlan', 'id', '40']);
      await assert.rejects(t.client.call('defineNetwork', { body: { name: lab.name('n3'), kind: 'vlan', uplink, vlan: 40 } }), { code: 'ALREADY_EXISTS', message: /VLAN 40/ });
      const ok = lab.name('n4');
      await t.client.call('defineNetwork', { body: { name: ok, kind: 'vlan', uplink, vlan: 41 } });
      await t.client.call('startNetwork', { params: { network: ok } });
      await t.client.call('stopNetwork', { params: { network: ok } });
      // The foreign VLAN interface is still there.
      await run('ip', ['link', 'show', 'dev', `${uplink}.40`]);
      assert.deepEqual(await lab.kvmpoolLeftovers(), []);
    } finally {
      await lab.cleanup();
    }
  }));
