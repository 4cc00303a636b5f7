import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatVlanList, hostSideMac, parseVlanList, randomMac, validateIfname, validateMac, validateMtu, validateVlanId } from './ifnames.js';

test('interface names: 1 to 15 bytes, no slash, colon or white space', () => {
  for (const good of ['eth0', 'br0', 'enp0s31f6.1000', 'a', 'vlan-10_x']) assert.equal(validateIfname('name', good), good);
  for (const bad of ['', 'a-name-of-16byte', 'br/0', 'br 0', 'br:0', 'br\t0', '.', '..', '-br', 'tab\u0001', 'ééééééééé', 'kv%d']) {
    assert.throws(() => validateIfname('name', bad), { code: 'INVALID_ARGUMENT' }, JSON.stringify(bad));
  }
});

test('VLAN ids are 1..4094; lists take ranges and come back short', () => {
  assert.equal(validateVlanId(1), 1);
  assert.equal(validateVlanId('4094'), 4094);
  for (const bad of [0, 4095, -1, 1.5, '10a', '', null]) assert.throws(() => validateVlanId(bad), { code: 'INVALID_ARGUMENT' }, String(bad));
  assert.deepEqual(parseVlanList('10, 20-23,5,21'), [5, 10, 20, 21, 22, 23]);
  assert.deepEqual(parseVlanList([30, 10]), [10, 30]);
  for (const bad of ['', '30-20', '0-5', '10,4095', '1-2-3', 'x']) assert.throws(() => parseVlanList(bad), { code: 'INVALID_ARGUMENT' }, bad);
  assert.equal(formatVlanList([5, 10, 20, 21, 22, 23]), '5,10,20-23');
  assert.equal(formatVlanList([]), '');
});

test('MACs: unicast, normalized; generated ones are locally administered and distinct', () => {
  assert.equal(validateMac('52-54-00-AA-bb-0C'), '52:54:00:aa:bb:0c');
  for (const bad of ['01:00:5e:00:00:01', '00:00:00:00:00:00', 'fe:54:00:00:00:01', '52:54:00:aa:bb', 'zz:54:00:aa:bb:cc', 42]) {
    assert.throws(() => validateMac(bad), { code: 'INVALID_ARGUMENT' }, String(bad));
  }
  const macs = new Set(Array.from({ length: 200 }, () => randomMac()));
  assert.ok(macs.size > 190);
  for (const mac of macs) {
    const first = parseInt(mac.slice(0, 2), 16);
    assert.equal(first & 0b10, 0b10, 'locally administered');
    assert.equal(first & 1, 0, 'unicast');
    assert.equal(validateMac(mac), mac);
  }
  assert.equal(hostSideMac('52:54:00:01:02:03'), 'fe:54:00:01:02:03');
});

test('MTUs: 68..65535', () => {
  assert.equal(validateMtu(1500), 1500);
  for (const bad of [67, 65536, 1500.5, '1500']) assert.throws(() => validateMtu(bad), { code: 'INVALID_ARGUMENT' }, String(bad));
});
