import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lockDevice, parseHostNames, parseLeaseOwner } from './sanlock.js';

// Recorded in two test hosts sharing a VG (sanlock 3.8.5): the lease of an LV host 1 holds, the same
// lease once released (timestamp 0, the last owner kept), and host_status -D of the lockspace.
const HEADER = '  offset                            lockspace                                         resource  timestamp  own  gen lver';
const held = `${HEADER}\n70254592                              lvm_vgc           EnTCja-KdfS-9Gl0-WVHn-YWgG-80zl-SV7Tkn 0000000031 0001 0001 1\n`;
const free = `${HEADER}\n70254592                              lvm_vgc           EnTCja-KdfS-9Gl0-WVHn-YWgG-80zl-SV7Tkn 0000000000 0001 0001 1\n`;
const status = `1 timestamp 32
    last_check=33
    last_live=33
    owner_id=1
    owner_generation=1
    io_timeout=2
    owner_name=node-a
2 timestamp 29
    last_check=33
    owner_id=2
    io_timeout=2
    owner_name=node-b
`;

test('parseLeaseOwner: the host_id holding an LV lease, none once it is released or not there', () => {
  assert.equal(parseLeaseOwner(held), 1);
  assert.equal(parseLeaseOwner(free), undefined);
  assert.equal(parseLeaseOwner(HEADER), undefined);
});

test('parseHostNames: the names hosts joined a lockspace with', () => {
  assert.deepEqual([...parseHostNames(status)], [
    [1, 'node-a'],
    [2, 'node-b'],
  ]);
});

test("lockDevice: the lock LV's device-mapper name doubles a VG name's dashes", () => {
  assert.equal(lockDevice('vgc'), '/dev/mapper/vgc-lvmlock');
  assert.equal(lockDevice('san-a'), '/dev/mapper/san--a-lvmlock');
});
