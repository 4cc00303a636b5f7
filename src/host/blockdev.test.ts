import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as blockdev from './blockdev.js';
import { fileSystemOf, parseBlkid, parseSize, parseWipefs } from './blockdev.js';
import { assertMalformed, checkGoldenArgv, recorded } from './testdata/golden.js';

// Recorded with util-linux 2.38.1 on loop devices: a 64 MiB ext4 (label kvmtest), a GPT image, and a blank one.
const gpt = recorded('wipefs.json');

test('argv builders match the golden argv file', () => {
  checkGoldenArgv('blockdev-argv.json', blockdev);
});

test('parseWipefs lists signatures; null uuids and labels are left out', () => {
  assert.deepEqual(parseWipefs(gpt), [
    { type: 'gpt', offset: '0x200' },
    { type: 'gpt', offset: '0x3fffe00' },
    { type: 'PMBR', offset: '0x1fe' },
  ]);
  assert.deepEqual(parseWipefs(recorded('wipefs-ext4.json')), [{ type: 'ext4', offset: '0x438', uuid: '3a3b4250-1cac-4b20-9ee6-436b65ef1269', label: 'kvmtest' }]);
  assert.deepEqual(parseWipefs(recorded('wipefs-none.json')), []);
  assert.deepEqual(parseWipefs(''), []);
});

test('wipefs output without what kvmpool reads is malformed', () => {
  const bad = ['not json', '[]', '{"signatures": {}}', '{"signatures": ["gpt"]}', gpt.replace('"type": "PMBR",', ''), gpt.replace('"offset": "0x200"', '"offset": 512'), gpt.replace('"uuid": null,', '"uuid": 1,')];
  for (const output of bad.slice(1)) JSON.parse(output);
  for (const output of bad) assertMalformed('wipefs', parseWipefs, output);
});

test('parseBlkid reads KEY=value lines; only a file system counts as one', () => {
  const ext4 = parseBlkid(recorded('blkid-ext4.txt'));
  assert.equal(ext4['LABEL'], 'kvmtest');
  assert.deepEqual(fileSystemOf(ext4), { type: 'ext4', uuid: '3a3b4250-1cac-4b20-9ee6-436b65ef1269' });
  const table = parseBlkid(recorded('blkid-gpt.txt'));
  assert.equal(table['PTTYPE'], 'gpt');
  assert.equal(fileSystemOf(table), undefined);
  assert.deepEqual(parseBlkid(''), {});
  assert.equal(fileSystemOf({}), undefined);
  for (const output of ['TYPE=ext4\ngarbage\n', '=ext4\n']) assertMalformed('blkid', parseBlkid, output);
});

test('parseSize reads blockdev --getsize64 and refuses anything but a byte count', () => {
  assert.equal(parseSize(recorded('blockdev-getsize64.txt')), 67108864);
  for (const output of ['', '\n', 'abc\n', '-1\n', '1.5\n', '12 MiB\n']) assertMalformed('blockdev', parseSize, output);
});
