import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSize, MAX_SIZE, parseSize, roundUp } from './sizes.js';

test('sizes parse in binary units', () => {
  const cases: [string | number, number][] = [
    ['512M', 512 * 2 ** 20],
    ['10G', 10 * 2 ** 30],
    ['1.5T', 1.5 * 2 ** 40],
    ['1048576', 1048576],
    [4096, 4096],
    ['1k', 1024],
    ['2GiB', 2 * 2 ** 30],
    ['3GB', 3 * 2 ** 30],
    [' 7 M ', 7 * 2 ** 20],
    ['1P', 2 ** 50],
  ];
  for (const [input, bytes] of cases) assert.equal(parseSize(input), bytes, String(input));
});

test('zero, negative, fractional-byte, malformed and absurd sizes are refused', () => {
  for (const input of ['0', '0G', '-1', '-5G', '1.5', 'G', '', '10X', '1e9', 'ten', '8E', String(2 ** 60), 0, -4, 1.5, Infinity, NaN]) {
    assert.throws(() => parseSize(input as string), (e: { code: string }) => e.code === 'INVALID_ARGUMENT', String(input));
  }
  assert.equal(parseSize(MAX_SIZE), MAX_SIZE);
});

test('roundUp goes to the next 512-byte sector', () => {
  assert.equal(roundUp(1), 512);
  assert.equal(roundUp(512), 512);
  assert.equal(roundUp(513), 1024);
});

test('formatSize prints binary units without trailing zeros', () => {
  assert.equal(formatSize(0), '0 B');
  assert.equal(formatSize(512), '512 B');
  assert.equal(formatSize(1536), '1.5 KiB');
  assert.equal(formatSize(200 * 2 ** 20), '200 MiB');
  assert.equal(formatSize(10 * 2 ** 30), '10 GiB');
  assert.equal(formatSize(1.25 * 2 ** 40), '1.25 TiB');
});
