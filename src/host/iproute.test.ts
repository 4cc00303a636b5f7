import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as iproute from './iproute.js';
import { parseAddresses, parseBridgeVlans, parseLinks, parseRoutes } from './iproute.js';
import { assertMalformed, checkGoldenArgv, recorded } from './testdata/golden.js';

// Recorded with iproute2 6.1 in a network namespace of this machine: bridge ktbr0 (kvmpool's alias) with
// a veth whose peer left for another namespace and a tap; IPv4 and IPv6 addresses and routes on the bridge.
// ip-link-vlan.json and bridge-vlan.json come from the test host: a VLAN-filtering bridge with access and
// trunk ports, and an 802.1Q sub-interface.
const links = recorded('ip-link.json');
const addrs = recorded('ip-addr.json');
const routes4 = recorded('ip-route.json');
const vlans = recorded('bridge-vlan.json');

test('argv builders match the golden argv file', () => {
  checkGoldenArgv('iproute-argv.json', iproute);
});

test('parseLinks reads bridges, ports, aliases and peers in other namespaces', () => {
  const all = new Map(parseLinks(links).map((l) => [l.ifname, l]));
  assert.deepEqual([...all.keys()], ['lo', 'ktbr0', 'ktv0', 'kttap0']);
  assert.deepEqual(all.get('ktbr0'), {
    ifindex: 2, ifname: 'ktbr0', flags: ['BROADCAST', 'MULTICAST', 'UP'], mtu: 1500, operstate: 'UP', address: '9a:91:39:28:ad:c3',
    ifalias: 'kvmpool:lan', linkinfo: { info_kind: 'bridge', info_data: { vlan_filtering: 0 } },
  });
  assert.deepEqual(all.get('ktv0'), {
    ifindex: 4, ifname: 'ktv0', flags: ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP'], mtu: 1500, operstate: 'DOWN', master: 'ktbr0',
    address: '9a:91:39:28:ad:c3', link_netnsid: 0, linkinfo: { info_kind: 'veth', info_slave_kind: 'bridge' },
  });
  assert.deepEqual([all.get('kttap0')!.ifalias, all.get('kttap0')!.linkinfo?.info_kind, all.get('kttap0')!.flags.includes('UP')], ['kvmpool:lan/web1', 'tun', false]);
  assert.equal(all.get('lo')!.linkinfo, undefined);
});

test('parseLinks reads VLAN sub-interfaces and VLAN filtering', () => {
  const all = new Map(parseLinks(recorded('ip-link-vlan.json')).map((l) => [l.ifname, l]));
  assert.deepEqual(all.get('ktv1.10')!.linkinfo, { info_kind: 'vlan', info_data: { id: 10, protocol: '802.1Q' } });
  assert.equal(all.get('ktv1.10')!.link, 'ktv1');
  assert.equal(all.get('ktv1.10')!.ifalias, 'kvmpool:v10');
  assert.equal(all.get('ktbr0')!.linkinfo?.info_data?.vlan_filtering, 1);
});

test('parseAddresses keeps global addresses in order, not link-local ones', () => {
  assert.deepEqual(parseAddresses(addrs), [
    { family: 'inet', address: '10.77.0.2/24', broadcast: '10.77.0.255' },
    { family: 'inet', address: '10.77.0.3/24' },
    { family: 'inet6', address: 'fd00:78::2/64', noprefixroute: true },
    { family: 'inet6', address: 'fd00:77::2/64' },
  ]);
  // iproute2 prints {} for an address a filter left out.
  assert.deepEqual(parseAddresses('[{"ifindex": 2, "ifname": "br0", "addr_info": [{}, {}]}]'), []);
  assert.deepEqual(parseAddresses('[]'), []);
});

test('parseRoutes keeps the routes an address move would lose', () => {
  assert.deepEqual(parseRoutes(routes4, 'inet'), [
    { family: 'inet', dst: 'default', gateway: '10.77.0.1', metric: 100 },
    { family: 'inet', dst: '10.88.0.0/16', gateway: '10.77.0.1', protocol: 'static' },
    { family: 'inet', dst: '10.99.0.0/24', scope: 'link' },
  ]);
  assert.deepEqual(parseRoutes(recorded('ip-route-6.json'), 'inet6'), [{ family: 'inet6', dst: 'default', gateway: 'fd00:77::1', metric: 1024 }]);
  assert.deepEqual(parseRoutes('[{"dst": "10.1.0.0/16", "gateway": "10.77.0.1", "flags": ["onlink"]}, {"type": "multicast", "dst": "ff00::/8", "flags": []}]', 'inet'), [
    { family: 'inet', dst: '10.1.0.0/16', gateway: '10.77.0.1', onlink: true },
  ]);
  assert.deepEqual(parseRoutes('[]\n', 'inet'), []);
  assert.deepEqual(parseRoutes('', 'inet'), []);
});

test('parseBridgeVlans reads the VLANs of one port', () => {
  const trunk = parseBridgeVlans(vlans, 'ktv0');
  assert.deepEqual(trunk[0], { vlan: 10, flags: ['PVID', 'Egress Untagged'] });
  assert.deepEqual(trunk.slice(1).map((v) => v.vlan), [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
  assert.deepEqual(parseBridgeVlans(vlans, 'ktv2'), [{ vlan: 1, flags: ['Egress Untagged'] }, { vlan: 5, flags: ['PVID', 'Egress Untagged'] }, { vlan: 10 }]);
  assert.deepEqual(parseBridgeVlans('[{"ifname": "br0", "vlans": [{"vlan": 20, "vlanEnd": 30}]}]', 'br0'), [{ vlan: 20, vlanEnd: 30 }]);
  assert.deepEqual(parseBridgeVlans(vlans, 'nosuch'), []);
  assert.deepEqual(parseBridgeVlans('[]', 'ktv0'), []);
});

test('ip and bridge output without what kvmpool reads is malformed', () => {
  const badLinks = [
    'not json', '{}', '[1]',
    links.replace('"ifname":"ktbr0",', ''),
    links.replace('"mtu":65536', '"mtu":"65536"'),
    links.replace('"flags":["LOOPBACK","UP","LOWER_UP"]', '"flags":"UP"'),
    links.replace('"ifalias":"kvmpool:lan"', '"ifalias":1'),
    links.replace('"link_netnsid":0', '"link_netnsid":"0"'),
    links.replace('"linkinfo":{"info_kind":"bridge"', '"linkinfo":{"info_kind":7'),
    recorded('ip-link-vlan.json').replace('"id":10', '"id":"10"'),
  ];
  for (const output of badLinks.slice(1)) JSON.parse(output);
  for (const output of badLinks) assertMalformed('ip', parseLinks, output);
  const badAddrs = ['not json', '{}', addrs.replace('"prefixlen":24,', ''), addrs.replace('"local":"10.77.0.3"', '"local":3'), addrs.replace('"addr_info":[', '"addr_info":{"x":[').replace(']}]', ']}}]')];
  const badRoutes = ['not json', '{}', routes4.replace('"dst":"default",', ''), routes4.replace('"metric":100', '"metric":"100"'), routes4.replace('"flags":["linkdown"]', '"flags":"linkdown"')];
  const badVlans = ['not json', '{}', vlans.replace('"vlan":10,', '"vlan":"10",'), vlans.replace('{"ifname":"ktv0",', '{'), vlans.replace('"vlans":[{"vlan":1,', '"vlans":{"x":[{"vlan":1,').replace('}]},{"ifname":"ktv0"', '}]}},{"ifname":"ktv0"')];
  for (const output of [...badAddrs.slice(1), ...badRoutes.slice(1), ...badVlans.slice(1)]) JSON.parse(output);
  for (const output of badAddrs) assertMalformed('ip', parseAddresses, output);
  for (const output of badRoutes) assertMalformed('ip', (o) => parseRoutes(o, 'inet'), output);
  for (const output of badVlans) assertMalformed('bridge', (o) => parseBridgeVlans(o, 'ktv0'), output);
});
