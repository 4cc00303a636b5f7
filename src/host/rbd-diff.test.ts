import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DiffDecoder, diffData, diffEnd, diffStart, type DiffRecord } from './rbd-diff.js';

/** Decodes a stream fed in pieces of `step` bytes; data pieces are joined back per offset. */
function decode(stream: Buffer, step: number): DiffRecord[] {
  const d = new DiffDecoder();
  const out: DiffRecord[] = [];
  for (let i = 0; i < stream.length; i += step) out.push(...d.push(stream.subarray(i, i + step)));
  d.finish();
  const joined: DiffRecord[] = [];
  for (const r of out) {
    const last = joined.at(-1);
    if (r.type === 'data' && last?.type === 'data' && last.offset + last.data.length === r.offset) joined[joined.length - 1] = { ...last, data: Buffer.concat([last.data, r.data]) };
    else joined.push(r.type === 'data' ? { ...r, data: Buffer.from(r.data) } : r);
  }
  return joined;
}

test('the rbd diff stream decodes however it is cut, and what kvmpool writes decodes to what it wrote', () => {
  // As rbd export-diff writes it: the magic, a from-snapshot name, the size, data, a zero range, the end.
  const from = Buffer.concat([Buffer.from('f'), Buffer.from([3, 0, 0, 0]), Buffer.from('old')]);
  const zero = Buffer.alloc(17);
  zero.write('z', 0, 'latin1');
  zero.writeBigUInt64LE(8192n, 1);
  zero.writeBigUInt64LE(4096n, 9);
  const data = Buffer.alloc(5000, 7);
  const stream = Buffer.concat([diffStart(1 << 20).subarray(0, 12), from, diffStart(1 << 20).subarray(12), diffData(100, data.length), data, zero, diffEnd()]);
  for (const step of [1, 7, 17, 4096, stream.length]) {
    assert.deepEqual(decode(stream, step), [{ type: 'size', size: 1 << 20 }, { type: 'data', offset: 100, data }, { type: 'zero', offset: 8192, length: 4096 }, { type: 'end' }], `pieces of ${step}`);
  }
  assert.throws(() => new DiffDecoder().push(Buffer.from('rbd diff v2\n')), /header/);
  const cut = new DiffDecoder();
  cut.push(stream.subarray(0, 40));
  assert.throws(() => cut.finish(), /ended early/);
});
