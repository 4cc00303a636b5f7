import { test } from 'node:test';
import assert from 'node:assert/strict';
import { multipathTable, parseMapList, parseMultipathStatus } from './multipath.js';

test('multipath: the table of a map over two paths', () => {
  assert.equal(multipathTable(1048576, ['8:0', '8:16']), '0 1048576 multipath 0 0 1 1 round-robin 0 2 1 8:0 1000 8:16 1000');
});

test('multipath: path states from dmsetup status', () => {
  // One path group (round-robin has no status args), two paths, the second failed once.
  assert.deepEqual(parseMultipathStatus('0 1048576 multipath 2 0 0 0 1 1 A 0 2 1 8:0 A 0 0 8:16 F 1 0\n'), [
    { device: '8:0', active: true },
    { device: '8:16', active: false },
  ]);
  // queue_if_no_path and a hardware handler (their counts are skipped).
  assert.deepEqual(parseMultipathStatus('0 8 multipath 3 0 1 0 1 alua 1 1 A 0 1 1 8:32 A 0 0'), [{ device: '8:32', active: true }]);
  assert.throws(() => parseMultipathStatus('0 8 linear 8:0 0'), /dmsetup printed malformed output/);
  assert.throws(() => parseMultipathStatus('0 8 multipath 2 0 0 0 1 1 A 0 1 1 8:0 X 0 0'), /a path/);
});

test('multipath: the map list', () => {
  assert.deepEqual(parseMapList('kvmpool-san-lun-0\t(254:0)\nkvmpool-san-lun-1\t(254:1)\n'), ['kvmpool-san-lun-0', 'kvmpool-san-lun-1']);
  assert.deepEqual(parseMapList('old-style\t(253, 3)\n'), ['old-style']);
  assert.deepEqual(parseMapList('No devices found\n'), []);
});
