import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectFormat } from './image-magic.js';

function head(bytes: number[] | string, offset = 0): Buffer {
  const b = Buffer.alloc(512);
  (typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes)).copy(b, offset);
  return b;
}

test('image signatures are recognised, anything else is raw', () => {
  assert.equal(detectFormat(head([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3])), 'qcow2');
  assert.equal(detectFormat(head([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 1])), 'qcow');
  assert.equal(detectFormat(head('QED\0')), 'qed');
  assert.equal(detectFormat(head('KDMV')), 'vmdk');
  assert.equal(detectFormat(head('vhdxfile')), 'vhdx');
  assert.equal(detectFormat(head('conectix')), 'vpc');
  assert.equal(detectFormat(head([0x7f, 0x10, 0xda, 0xbe], 0x40)), 'vdi');
  assert.equal(detectFormat(head([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe])), 'luks');
  assert.equal(detectFormat(head('hello world')), 'raw');
  assert.equal(detectFormat(Buffer.alloc(0)), 'raw');
  assert.equal(detectFormat(Buffer.from([0x51, 0x46])), 'raw');
});
