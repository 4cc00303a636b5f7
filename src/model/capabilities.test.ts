import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentFeatures, featuresFor, format, withholdingState, type CapabilityTable } from './capabilities.js';

const table: CapabilityTable = {
  formats: {
    raw: format(['delete', 'clone', 'wipe'], { snapshots: ['wipe'], writing: ['clone'] }),
    qcow2: format(['delete', 'snapshot']),
  },
  traits: { reflink: { raw: ['clone-reflink', 'snapshot'] } },
  kinds: { thin: ['clone-thin'] },
  kindWithheld: { thin: {}, '*': { snapshots: ['delete'] } },
};
const plain = { reflink: false, directIO: true };
const reflink = { reflink: true, directIO: true };

test('features come from the format, plus what a trait of the storage and the kind of volume add', () => {
  assert.deepEqual(featuresFor(table, plain, 'raw'), ['delete', 'clone', 'wipe']);
  assert.deepEqual(featuresFor(table, reflink, 'raw'), ['delete', 'clone', 'wipe', 'clone-reflink', 'snapshot']);
  assert.deepEqual(featuresFor(table, reflink, 'qcow2'), ['delete', 'snapshot']);
  assert.deepEqual(featuresFor(table, plain, 'raw', 'thin'), ['delete', 'clone', 'wipe', 'clone-thin']);
  assert.deepEqual(featuresFor(table, reflink, 'unknown', 'thin'), []);
});

test('states withhold what the table says while they last; clone stands for every clone method', () => {
  assert.equal(withholdingState(table, 'raw', { snapshots: '2 snapshots' }, 'wipe'), 'snapshots');
  assert.equal(withholdingState(table, 'raw', { snapshots: '2 snapshots' }, 'delete'), undefined);
  assert.equal(withholdingState(table, 'raw', { writing: 'vm a' }, 'clone-reflink'), 'writing');
  assert.deepEqual(currentFeatures(table, reflink, 'raw', undefined, { snapshots: 'x', writing: 'y' }), ['delete', 'snapshot']);
});

test('a kind of volume can withhold more in a state than its format does', () => {
  assert.equal(withholdingState(table, 'raw', { snapshots: 'x' }, 'delete', 'linear'), 'snapshots');
  assert.equal(withholdingState(table, 'raw', { snapshots: 'x' }, 'delete', 'thin'), undefined);
  assert.equal(withholdingState(table, 'raw', { snapshots: 'x' }, 'delete', 'striped'), 'snapshots', '* stands for every kind not named');
  assert.deepEqual(currentFeatures(table, plain, 'raw', 'linear', { snapshots: 'x' }), ['clone']);
});
