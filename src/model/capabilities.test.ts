import { test } from 'node:test';
import assert from 'node:assert/strict';
import { featuresFor, type Capabilities } from './capabilities.js';

const caps: Capabilities = { base: { raw: ['delete', 'clone'], qcow2: ['delete', 'snapshot'] }, reflink: { raw: ['clone-reflink', 'snapshot'] } };

test('features come from the base table, plus the reflink table where the storage shares extents', () => {
  assert.deepEqual(featuresFor(caps, { reflink: false, directIO: true }, 'raw'), ['delete', 'clone']);
  assert.deepEqual(featuresFor(caps, { reflink: true, directIO: true }, 'raw'), ['delete', 'clone', 'clone-reflink', 'snapshot']);
  assert.deepEqual(featuresFor(caps, { reflink: true, directIO: true }, 'qcow2'), ['delete', 'snapshot']);
  assert.deepEqual(featuresFor(caps, { reflink: true, directIO: true }, 'unknown'), []);
});
