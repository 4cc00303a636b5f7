import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as partitions from './partitions.js';
import { freeExtents, parseSfdisk } from './partitions.js';
import { assertMalformed, checkGoldenArgv, recorded } from './testdata/golden.js';

// Recorded with sfdisk 2.38.1 on 64 MiB image files: a GPT with partitions `boot` (1-11 MiB) and
// `home` (31-51 MiB), a DOS table with two, and a GPT without partitions.
const gpt = recorded('sfdisk-gpt.json');
const MiB = 1024 ** 2;

test('argv builders and scripts match the golden argv file', () => {
  checkGoldenArgv('sfdisk-argv.json', partitions);
});

test('parseSfdisk reads a GPT: names, uuids, usable range', () => {
  assert.deepEqual(parseSfdisk(gpt), {
    label: 'gpt',
    id: 'A447084B-6891-984B-A261-463751EA16B1',
    sectorSize: 512,
    first: MiB,
    last: 131039 * 512,
    partitions: [
      { node: 'gpt.img1', number: 1, start: MiB, size: 10 * MiB, name: 'boot', uuid: 'DDF75FB1-FC62-0C49-95C7-CC4A993B38A0' },
      { node: 'gpt.img2', number: 2, start: 31 * MiB, size: 20 * MiB, name: 'home', uuid: '78775DC2-4C8C-4B4C-8A14-C4FE692431F1' },
    ],
  });
  assert.deepEqual(parseSfdisk(recorded('sfdisk-gpt-empty.json')).partitions, []);
});

test('parseSfdisk reads a DOS table, which has no last usable LBA', () => {
  const dos = parseSfdisk(recorded('sfdisk-dos.json'));
  assert.deepEqual(dos, {
    label: 'dos',
    id: '0x9d222e73',
    sectorSize: 512,
    first: MiB,
    partitions: [
      { node: 'dos.img1', number: 1, start: MiB, size: 10 * MiB },
      { node: 'dos.img2', number: 2, start: 20 * MiB, size: 4 * MiB },
    ],
  });
  assert.equal(dos.last, undefined);
});

test('freeExtents: the aligned gaps between partitions and at the end', () => {
  const t = parseSfdisk(gpt);
  assert.deepEqual(freeExtents({ ...t, last: t.last! }, MiB), [
    { start: 11 * MiB, size: 20 * MiB },
    { start: 51 * MiB, size: 12 * MiB },
  ]);
  const dos = parseSfdisk(recorded('sfdisk-dos.json'));
  assert.deepEqual(freeExtents({ ...dos, last: 64 * MiB }, MiB), [
    { start: 11 * MiB, size: 9 * MiB },
    { start: 24 * MiB, size: 40 * MiB },
  ]);
});

test('sfdisk dumps without what the disk pool reads are malformed', () => {
  const bad = [
    '',
    'not json',
    '[]',
    '{"table": {}}',
    gpt.replace('"label": "gpt",', ''),
    gpt.replace('"id": "A447084B-6891-984B-A261-463751EA16B1",', ''),
    gpt.replace('"sectorsize": 512', '"sectorsize": 0'),
    gpt.replace('"lastlba": 131038', '"lastlba": "131038"'),
    gpt.replace('"start": 2048,', ''),
    gpt.replace('"size": 20480', '"size": "20480"'),
    gpt.replace('"node": "gpt.img1"', '"node": "gpt.img"'),
    gpt.replace('"name": "boot"', '"name": 7'),
    '{"partitiontable": {"label": "gpt", "id": "x", "partitions": {}}}',
  ];
  for (const output of bad) assertMalformed('sfdisk', parseSfdisk, output);
  // Each variant but the first four is still JSON: it is refused for what it says, not how.
  for (const output of bad.slice(4)) JSON.parse(output);
});
