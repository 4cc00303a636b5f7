import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import test from 'node:test';
import { run } from '../../src/host/exec.js';
import { withDaemon } from '../helpers/daemon.js';
import { NetLab } from '../helpers/netlab.js';

/**
 * A bridge network with an uplink on this machine's kernel, with real packets: namespaces stand in for
 * three VMs and for the outside world, which sits beyond the uplink (a veth pair).
 */

const addrOf = async (dev: string) => JSON.parse((await run('ip', ['-j', 'addr', 'show', 'dev', dev])).stdout)[0].addr_info.filter((a: { scope: string }) => a.scope === 'global').map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`) as string[];
/** Opens a persistent tap as qemu does (TUNSETIFF, IFF_TAP | IFF_NO_PI) and holds it until killed. */
function holdTap(ifname: string) {
  const script = [
    'import fcntl, os, struct, sys, time',
    "fd = os.open('/dev/net/tun', os.O_RDWR)",
    'fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", sys.argv[1].encode(), 0x0002 | 0x1000))',
    "print('ready', flush=True)",
    'time.sleep(600)',
  ].join('\n');
  const child = spawn('python3', ['-c', script, ifname], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the tap holder exited with ${code}`)));
  });
  return { child, ready };
}

const routesOf = async (dev: string) => (await run('ip', ['-4', 'route', 'show', 'dev', dev])).stdout.trim();

test('a bridge network: three ports in three namespaces ping each other and the outside; the uplink hands its address to the bridge and gets it back', () =>
  withDaemon(async (t) => {
    const lab = new NetLab();
    const before = await NetLab.hostInterfaces();
    try {
      const outside = await lab.netns('out');
      const uplink = lab.name('up');
      await lab.veth(uplink, lab.name('far'), { ns: outside, address: '10.77.0.1/24' });
      // A primary and a secondary address, a route through a gateway, and a gateway reachable only
      // through a host route (as on clouds that give a /32): the move keeps them all, in working order.
      await run('ip', ['addr', 'add', '10.77.0.254/24', 'dev', uplink]);
      await run('ip', ['addr', 'add', '10.77.0.253/24', 'dev', uplink]);
      await run('ip', ['link', 'set', uplink, 'up']);
      await run('ip', ['route', 'add', '10.78.0.0/24', 'via', '10.77.0.1', 'dev', uplink]);
      await run('ip', ['route', 'add', '172.31.1.1', 'dev', uplink, 'scope', 'link']);
      await run('ip', ['route', 'add', '10.79.0.0/24', 'via', '172.31.1.1', 'dev', uplink, 'onlink']);
      const routesBefore = await routesOf(uplink);

      const net = lab.name('br');
      const defined = await t.client.call('defineNetwork', { body: { name: net, kind: 'bridge', uplink } });
      assert.deepEqual([defined.state, defined.bridge, defined.uplink], ['inactive', net, uplink]);
      const started = await t.client.call('startNetwork', { params: { network: net } });
      assert.equal(started.state, 'running', JSON.stringify(started.drift));

      // The host keeps its address and routes, now on the bridge.
      assert.deepEqual(await addrOf(net), ['10.77.0.254/24', '10.77.0.253/24']);
      assert.deepEqual(await addrOf(uplink), []);
      assert.equal(await routesOf(net), routesBefore);
      assert.ok(await lab.pings(null, '10.77.0.1'), 'the host reaches the outside through the bridge');

      const guests: string[] = [];
      for (const i of [1, 2, 3]) {
        const port = await t.client.call('createPort', { params: { network: net }, body: { name: `vm${i}`, type: 'veth' } });
        assert.equal(port.state, 'up');
        assert.match(port.mac, /^52:54:00(:[0-9a-f]{2}){3}$/);
        assert.equal(port.attached, false);
        const ns = await lab.netns(`v${i}`);
        await lab.moveInto(port.peer!, ns, `10.77.0.${10 + i}/24`);
        const info = await t.client.call('getPort', { params: { network: net, port: `vm${i}` } });
        assert.equal(info.attached, true, 'a veth whose peer left the host namespace is attached');
        guests.push(ns);
      }
      const ports = await t.client.call('listPorts', { params: { network: net } });
      assert.equal(new Set(ports.map((p) => p.mac)).size, 3, 'MACs are unique');
      for (const [i, ns] of guests.entries()) {
        const { stdout } = await lab.in(ns, ['ip', '-j', 'link', 'show', ports[i]!.peer!]);
        assert.equal(JSON.parse(stdout)[0].address, ports[i]!.mac, "the peer carries the port's MAC");
        for (const j of [1, 2, 3]) if (j !== i + 1) assert.ok(await lab.pings(ns, `10.77.0.${10 + j}`), `vm${i + 1} reaches vm${j}`);
        assert.ok(await lab.pings(ns, '10.77.0.1'), `vm${i + 1} reaches the outside`);
        assert.ok(await lab.pings(ns, '10.77.0.254'), `vm${i + 1} reaches the host`);
      }

      // Ports in use keep the network up unless forced.
      await assert.rejects(t.client.call('stopNetwork', { params: { network: net } }), { code: 'IN_USE' });
      await assert.rejects(t.client.call('deletePort', { params: { network: net, port: 'vm1' } }), { code: 'IN_USE' });
      await t.client.call('deletePort', { params: { network: net, port: 'vm1' }, query: { force: true } });
      assert.equal((await t.client.call('getNetwork', { params: { network: net } })).ports, 2);
      const stopped = await t.client.call('stopNetwork', { params: { network: net }, body: { force: true } });
      assert.equal(stopped.state, 'inactive');

      // Everything back as it was: the uplink's addresses and routes, and no kvmpool interfaces.
      assert.deepEqual(await lab.kvmpoolLeftovers(), []);
      assert.deepEqual(await addrOf(uplink), ['10.77.0.254/24', '10.77.0.253/24']);
      assert.equal(await routesOf(uplink), routesBefore);
      assert.ok(await lab.pings(null, '10.77.0.1'), 'the host reaches the outside through the uplink again');
      await t.client.call('undefineNetwork', { params: { network: net } });
      await assert.rejects(t.client.call('getNetwork', { params: { network: net } }), { code: 'NOT_FOUND' });
    } finally {
      await lab.cleanup();
    }
    assert.deepEqual(await NetLab.hostInterfaces(), before);
  }));

test('networks refuse bad names, VLAN ids, MTUs, missing or taken uplinks, doubled VLANs and ports on stopped networks, and leave nothing behind', () =>
  withDaemon(async (t) => {
    const lab = new NetLab();
    const before = await NetLab.hostInterfaces();
    const define = (body: Record<string, unknown>) => t.client.call('defineNetwork', { body: body as never });
    try {
      const uplink = lab.name('up');
      await lab.veth(uplink, lab.name('far'));
      await assert.rejects(define({ name: 'n1', kind: 'vlan', uplink, vlan: 0 }), { code: 'INVALID_ARGUMENT', message: /VLAN id/ });
      await assert.rejects(define({ name: 'n1', kind: 'vlan', uplink, vlan: 4095 }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(define({ name: 'n1', kind: 'vlan', uplink }), { code: 'INVALID_ARGUMENT', message: /VLAN id/ });
      await assert.rejects(define({ name: 'n1', kind: 'bridge', bridge: 'a-name-of-16byte' }), { code: 'INVALID_ARGUMENT', message: /15 bytes/ });
      for (const bad of ['br/0', 'br 0', 'br:0', '..']) await assert.rejects(define({ name: 'n1', kind: 'bridge', bridge: bad }), { code: 'INVALID_ARGUMENT' }, bad);
      await assert.rejects(define({ name: 'n1', kind: 'bridge', uplink: 'eth0:1' }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(define({ name: 'a-network-name-too-long', kind: 'bridge' }), { code: 'INVALID_ARGUMENT', message: /--bridge/ });
      await assert.rejects(define({ name: 'n1', kind: 'bridge', mtu: 10 }), { code: 'INVALID_ARGUMENT', message: /MTU/ });
      await assert.rejects(define({ name: 'n1', kind: 'ovs' }), { code: 'INVALID_ARGUMENT', message: /unknown network kind/ });
      await assert.rejects(define({ name: 'n1', kind: 'bridge', uplink: lab.name('nope') }), { code: 'NOT_FOUND' });

      // An uplink already in a bridge kvmpool did not make; an interface name someone else holds.
      const foreign = lab.name('fb');
      await run('ip', ['link', 'add', foreign, 'type', 'bridge']);
      await run('ip', ['link', 'set', foreign, 'alias', 'kvmpool-test']);
      const enslaved = lab.name('sl');
      await lab.veth(enslaved, lab.name('sm'));
      await run('ip', ['link', 'set', enslaved, 'master', foreign]);
      await assert.rejects(define({ name: lab.name('n2'), kind: 'bridge', uplink: enslaved }), { code: 'IN_USE', message: /already a port of/ });
      await assert.rejects(define({ name: foreign, kind: 'bridge' }), { code: 'ALREADY_EXISTS', message: /did not create/ });
      await assert.rejects(define({ name: 'n3', kind: 'bridge', uplink: foreign }), { code: 'INVALID_ARGUMENT', message: /is a bridge/ });

      // The same VLAN twice on one uplink; one uplink in two bridges.
      const v10 = lab.name('v10');
      await define({ name: v10, kind: 'vlan', uplink, vlan: 10 });
      await assert.rejects(define({ name: lab.name('v10b'), kind: 'vlan', uplink, vlan: 10 }), { code: 'ALREADY_EXISTS', message: /VLAN/ });
      const br = lab.name('br');
      await define({ name: br, kind: 'bridge', uplink: lab.name('far') });
      await assert.rejects(define({ name: lab.name('br2'), kind: 'bridge', uplink: lab.name('far') }), { code: 'IN_USE' });
      await assert.rejects(define({ name: br, kind: 'bridge' }), { code: 'ALREADY_EXISTS' });

      // Ports: not on a stopped network; bad VLAN settings and MACs.
      await assert.rejects(t.client.call('createPort', { params: { network: br }, body: { name: 'p' } }), { code: 'NETWORK_NOT_ACTIVE' });
      await t.client.call('startNetwork', { params: { network: br } });
      const port = (body: Record<string, unknown>) => t.client.call('createPort', { params: { network: br }, body: { name: 'p', ...body } as never });
      await assert.rejects(port({ vlan: 10 }), { code: 'NOT_SUPPORTED' });
      await assert.rejects(port({ mac: '01:00:5e:00:00:01' }), { code: 'INVALID_ARGUMENT', message: /multicast/ });
      await assert.rejects(port({ mac: 'zz' }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(port({ mac: 'fe:54:00:00:00:01' }), { code: 'INVALID_ARGUMENT', message: /host side/ });
      await assert.rejects(port({ ifname: 'kv%d' }), { code: 'INVALID_ARGUMENT', message: /%/ });
      await assert.rejects(port({ type: 'macvtap' }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(port({ ifname: foreign }), { code: 'ALREADY_EXISTS' });
      await assert.rejects(port({ name: 'bad/name' }), { code: 'INVALID_ARGUMENT' });
      const tap = await port({ mac: '52:54:00:AA:BB:CC' });
      assert.deepEqual([tap.type, tap.mac, tap.state, tap.attached], ['tap', '52:54:00:aa:bb:cc', 'up', false]);
      await assert.rejects(port({ name: 'q', mac: '52:54:00:aa:bb:cc' }), { code: 'ALREADY_EXISTS', message: /MAC/ });

      // A process that opens the tap (as qemu does) makes it attached: the network stays up.
      const holder = holdTap(tap.ifname);
      try {
        await holder.ready;
        assert.equal((await t.client.call('getPort', { params: { network: br, port: 'p' } })).attached, true);
        await assert.rejects(t.client.call('stopNetwork', { params: { network: br } }), { code: 'IN_USE' });
      } finally {
        holder.child.kill();
        await new Promise((r) => holder.child.once('exit', r));
      }
      assert.equal((await t.client.call('getPort', { params: { network: br, port: 'p' } })).attached, false);
      await assert.rejects(port({}), { code: 'ALREADY_EXISTS' });
      await assert.rejects(t.client.call('undefineNetwork', { params: { network: br } }), { code: 'NETWORK_ACTIVE' });

      // kvmpool never deletes what it did not create: a port interface replaced by someone else stays.
      await run('ip', ['link', 'set', tap.ifname, 'alias', 'kvmpool-test-someone-else']);
      await t.client.call('stopNetwork', { params: { network: br } });
      assert.ok((await NetLab.hostInterfaces()).includes(tap.ifname));
      await run('ip', ['link', 'del', tap.ifname]);
      // The foreign bridge and its port are untouched.
      const { stdout } = await run('ip', ['-j', 'link', 'show', enslaved]);
      assert.equal(JSON.parse(stdout)[0].master, foreign);
      assert.deepEqual(await lab.kvmpoolLeftovers(), []);
    } finally {
      await lab.cleanup();
    }
    assert.deepEqual(await NetLab.hostInterfaces(), before);
  }));

test('an uplink carrying the address the API listens on is refused without force', () =>
  withDaemon(async (t) => {
    const lab = new NetLab();
    try {
      const uplink = await lab.uplink('up', '10.79.0.2/24');
      // A daemon listening on that address (the test daemon also serves its socket).
      await t.daemon.close();
      const { startDaemon } = await import('../../src/daemon/daemon.js');
      const daemon = await startDaemon({ home: t.home, listen: '10.79.0.2:0', log: () => {} });
      t.daemon = daemon;
      const net = lab.name('br');
      await t.client.call('defineNetwork', { body: { name: net, kind: 'bridge', uplink } });
      await assert.rejects(t.client.call('startNetwork', { params: { network: net } }), { code: 'IN_USE', message: /API listens/ });
      assert.deepEqual(await addrOf(uplink), ['10.79.0.2/24'], 'a refused start leaves the uplink as it was');
      assert.deepEqual(await lab.kvmpoolLeftovers(), []);
      const forced = await t.client.call('startNetwork', { params: { network: net }, body: { force: true } });
      assert.equal(forced.state, 'running');
      assert.deepEqual(await addrOf(net), ['10.79.0.2/24']);
      await t.client.call('stopNetwork', { params: { network: net } });
      assert.deepEqual(await addrOf(uplink), ['10.79.0.2/24']);
      assert.deepEqual(await lab.kvmpoolLeftovers(), []);
    } finally {
      await lab.cleanup();
    }
  }));

test('a failing start is undone: the uplink gets its address back and no interface stays', () =>
  withDaemon(async (t) => {
    const lab = new NetLab();
    try {
      const uplink = await lab.uplink('up', '10.80.0.2/24');
      const net = lab.name('br');
      await t.client.call('defineNetwork', { body: { name: net, kind: 'bridge', uplink } });
      await t.client.call('startNetwork', { params: { network: net } });
      const port = await t.client.call('createPort', { params: { network: net }, body: { name: 'p', type: 'veth', ifname: lab.name('pp') } });
      await t.client.call('stopNetwork', { params: { network: net } });
      // The port's name is taken by an interface kvmpool did not make: the next start fails at the
      // last step, and every step before it is undone.
      await lab.veth(port.ifname, lab.name('x'));
      await assert.rejects(t.client.call('startNetwork', { params: { network: net } }), { code: 'ALREADY_EXISTS' });
      assert.deepEqual(await addrOf(uplink), ['10.80.0.2/24']);
      assert.equal(JSON.parse((await run('ip', ['-j', 'link', 'show', 'dev', uplink])).stdout)[0].master, undefined);
      assert.deepEqual(await lab.kvmpoolLeftovers(), []);
      assert.equal((await t.client.call('getNetwork', { params: { network: net } })).state, 'inactive');
    } finally {
      await lab.cleanup();
    }
  }));

test('after a daemon restart, networks are brought back and what drifted is repaired and reported; after a reboot only autostart ones start', () =>
  withDaemon(async (t) => {
    const lab = new NetLab();
    try {
      const uplink = await lab.uplink('up', '10.81.0.2/24');
      const net = lab.name('br');
      const manual = lab.name('mn');
      await t.client.call('defineNetwork', { body: { name: net, kind: 'bridge', uplink, autostart: true } });
      await t.client.call('defineNetwork', { body: { name: manual, kind: 'bridge' } });
      for (const n of [net, manual]) await t.client.call('startNetwork', { params: { network: n } });
      const port = await t.client.call('createPort', { params: { network: net }, body: { name: 'p' } });
      await run('ip', ['link', 'del', port.ifname]);
      const degraded = await t.client.call('getNetwork', { params: { network: net } });
      assert.equal(degraded.state, 'degraded');
      assert.match(degraded.drift!.join(), /port p .* missing/);

      await t.restart();
      assert.ok(t.logs.some((l) => l.includes(`network ${net}: drifted`)), t.logs.join('\n'));
      const back = await t.client.call('getNetwork', { params: { network: net } });
      assert.equal(back.state, 'running', JSON.stringify(back.drift));
      assert.equal((await t.client.call('getPort', { params: { network: net, port: 'p' } })).state, 'up');

      // The bridge deleted by hand took the uplink's address: the repair gives it back, on a new bridge.
      await run('ip', ['link', 'del', net]);
      await assert.rejects(t.client.call('createPort', { params: { network: net }, body: { name: 'q' } }), { code: 'NETWORK_NOT_ACTIVE', message: /lost its bridge/ });
      await t.restart();
      assert.equal((await t.client.call('getNetwork', { params: { network: net } })).state, 'running');
      assert.deepEqual(await addrOf(net), ['10.81.0.2/24']);
      assert.equal((await t.client.call('getPort', { params: { network: net, port: 'p' } })).state, 'up');

      // A reboot (the networks ran in another boot, their interfaces are gone): autostart brings
      // back the one marked so; the other stays stopped.
      await t.restart(async () => {
        for (const n of [net, manual]) await run('ip', ['link', 'del', n]);
        await run('ip', ['link', 'del', port.ifname]);
        await run('ip', ['addr', 'add', '10.81.0.2/24', 'dev', uplink]);
        const db = new Database(path.join(t.home, 'kvmpool.db'));
        db.prepare("UPDATE networks SET boot_id = 'an-earlier-boot'").run();
        db.close();
      });
      assert.equal((await t.client.call('getNetwork', { params: { network: net } })).state, 'running');
      assert.deepEqual(await addrOf(net), ['10.81.0.2/24']);
      assert.equal((await t.client.call('getPort', { params: { network: net, port: 'p' } })).state, 'up');
      assert.equal((await t.client.call('getNetwork', { params: { network: manual } })).state, 'inactive');
      await t.client.call('stopNetwork', { params: { network: net } });
      assert.deepEqual(await addrOf(uplink), ['10.81.0.2/24']);
      assert.deepEqual(await lab.kvmpoolLeftovers(), []);
    } finally {
      await lab.cleanup();
    }
  }));

test("MTUs: a bridge takes its uplink's, ports their bridge's or their own; one above the uplink's is refused", () =>
  withDaemon(async (t) => {
    const lab = new NetLab();
    const mtuOf = async (dev: string) => JSON.parse((await run('ip', ['-j', 'link', 'show', 'dev', dev])).stdout)[0].mtu as number;
    try {
      const uplink = await lab.uplink('up');
      await run('ip', ['link', 'set', 'dev', uplink, 'mtu', '9000']);
      const jumbo = lab.name('j');
      await t.client.call('defineNetwork', { body: { name: jumbo, kind: 'bridge', uplink } });
      await t.client.call('startNetwork', { params: { network: jumbo } });
      const p1 = await t.client.call('createPort', { params: { network: jumbo }, body: { name: 'p1' } });
      const p2 = await t.client.call('createPort', { params: { network: jumbo }, body: { name: 'p2', type: 'veth', mtu: 1400 } });
      assert.deepEqual([await mtuOf(jumbo), await mtuOf(p1.ifname), await mtuOf(p2.ifname), await mtuOf(p2.peer!)], [9000, 9000, 1400, 1400]);
      await t.client.call('stopNetwork', { params: { network: jumbo } });
      await t.client.call('undefineNetwork', { params: { network: jumbo } });
      assert.equal(await mtuOf(uplink), 9000);

      const small = lab.name('s');
      await t.client.call('defineNetwork', { body: { name: small, kind: 'bridge', uplink, mtu: 9100 } });
      await assert.rejects(t.client.call('startNetwork', { params: { network: small } }), { code: 'INVALID_ARGUMENT', message: /MTU 9100/ });
      assert.ok(!(await NetLab.hostInterfaces()).includes(small));
    } finally {
      await lab.cleanup();
    }
  }));
