import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as mount from './mount.js';
import { parseFindmnt } from './mount.js';
import { assertMalformed, checkGoldenArgv, recorded } from './testdata/golden.js';

// Recorded with findmnt 2.38.1: an ext4 loop device mounted twice (`--source`), and a mount with a
// tmpfs below it (`-R --mountpoint`, the tree form).
const twice = recorded('findmnt.json');
const dir = '/tmp/kvmpool-rec-GeHV';

test('argv builders match the golden argv file', () => {
  checkGoldenArgv('mount-argv.json', mount);
});

test('parseFindmnt lists every mount of a device', () => {
  assert.deepEqual(parseFindmnt(twice), [
    { source: '/dev/loop0', target: `${dir}/m1`, fstype: 'ext4', options: 'rw,relatime' },
    { source: '/dev/loop0', target: `${dir}/m2`, fstype: 'ext4', options: 'rw,relatime' },
  ]);
});

test('parseFindmnt flattens the tree of submounts; nothing printed is no mount', () => {
  assert.deepEqual(parseFindmnt(recorded('findmnt-tree.json')), [
    { source: '/dev/loop0', target: `${dir}/m1`, fstype: 'ext4', options: 'rw,relatime' },
    { source: 'tmpfs', target: `${dir}/m1/sub`, fstype: 'tmpfs', options: 'rw,relatime,size=1024k' },
  ]);
  assert.deepEqual(parseFindmnt(''), []);
  assert.deepEqual(parseFindmnt('\n'), []);
});

test('findmnt output without what kvmpool reads is malformed', () => {
  const bad = [
    'not json',
    '[]',
    '{}',
    '{"filesystems": {}}',
    twice.replace('"target": "/tmp/kvmpool-rec-GeHV/m1",', ''),
    twice.replace('"fstype": "ext4"', '"fstype": 4'),
    twice.replace('"options": "rw,relatime"', '"options": null'),
    recorded('findmnt-tree.json').replace('"children": [', '"children": {"x": [').replace(/\]\n(\s+)\}\n(\s+)\]/, ']}\n$1}\n$2]'),
  ];
  for (const output of bad.slice(1)) JSON.parse(output);
  for (const output of bad) assertMalformed('findmnt', parseFindmnt, output);
});
