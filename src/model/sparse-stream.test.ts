import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { dataHeader, endFrame, holeFrame, SparseDecoder, splitZeroRuns, ZERO_BLOCK, type Frame } from './sparse-stream.js';

const sha = createHash('sha256').update('x').digest('hex');

function encode(): Buffer {
  const data = Buffer.from('hello world');
  return Buffer.concat([dataHeader(0, data.length), data, holeFrame(11, 1000), dataHeader(1011, 3), Buffer.from('abc'), endFrame(1014, sha)]);
}

function collect(frames: Frame[]): unknown[] {
  // Merge data pieces so the result does not depend on how the input was chunked.
  const out: unknown[] = [];
  for (const f of frames) {
    const last = out.at(-1) as { type: string; offset: number; data: string } | undefined;
    if (f.type === 'data' && last?.type === 'data' && last.offset + last.data.length === f.offset) last.data += f.data.toString();
    else out.push(f.type === 'data' ? { type: 'data', offset: f.offset, data: f.data.toString() } : f);
  }
  return out;
}

test('frames decode the same whatever the chunking', () => {
  const whole = encode();
  const expected = [
    { type: 'data', offset: 0, data: 'hello world' },
    { type: 'hole', offset: 11, length: 1000 },
    { type: 'data', offset: 1011, data: 'abc' },
    { type: 'end', size: 1014, sha256: sha },
  ];
  for (const size of [1, 2, 5, 16, 17, 18, 100, whole.length]) {
    const d = new SparseDecoder();
    const frames: Frame[] = [];
    for (let i = 0; i < whole.length; i += size) frames.push(...d.push(whole.subarray(i, i + size)));
    d.finish();
    assert.deepEqual(collect(frames), expected, `chunks of ${size}`);
  }
});

test('an end frame may come without a checksum', () => {
  const d = new SparseDecoder();
  assert.deepEqual(d.push(Buffer.concat([holeFrame(0, 10), endFrame(10)])), [{ type: 'hole', offset: 0, length: 10 }, { type: 'end', size: 10 }]);
  d.finish();
});

test('malformed streams are refused', () => {
  assert.throws(() => new SparseDecoder().push(Buffer.concat([holeFrame(5, 1)])), /frame at 5, expected 0/);
  assert.throws(() => new SparseDecoder(100).push(holeFrame(0, 1)), /expected 100/);
  assert.throws(() => new SparseDecoder().push(Buffer.concat([Buffer.from([0x51]), Buffer.alloc(16)])), /unknown frame type/);
  assert.throws(() => new SparseDecoder().push(Buffer.concat([endFrame(0, sha), holeFrame(0, 1)])), /after the end frame/);
  assert.throws(() => new SparseDecoder().push(endFrame(7, sha)), /end frame at 7/);
  const cut = new SparseDecoder();
  cut.push(dataHeader(0, 10));
  cut.push(Buffer.from('12345'));
  assert.throws(() => cut.finish(), /before its end frame/);
  assert.throws(() => new SparseDecoder().finish(), /before its end frame/);
});

test('zero runs are found at block granularity', () => {
  const chunk = Buffer.alloc(4 * ZERO_BLOCK + 100);
  chunk[ZERO_BLOCK + 5] = 1;
  chunk[4 * ZERO_BLOCK + 50] = 2;
  assert.deepEqual(splitZeroRuns(chunk, 1000), [
    { offset: 1000, length: ZERO_BLOCK, zero: true },
    { offset: 1000 + ZERO_BLOCK, length: ZERO_BLOCK, zero: false },
    { offset: 1000 + 2 * ZERO_BLOCK, length: 2 * ZERO_BLOCK, zero: true },
    { offset: 1000 + 4 * ZERO_BLOCK, length: 100, zero: false },
  ]);
});
