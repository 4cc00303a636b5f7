import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSnapshotRef, parseVolumeRef, validateName } from './names.js';

test('valid names pass unchanged', () => {
  for (const name of ['default', 'vm1.qcow2', 'a', 'disk_01-b', 'x'.repeat(128), 'ü'.repeat(64), 'name with space']) {
    assert.equal(validateName('volume', name), name);
  }
});

test('bad names are refused with INVALID_ARGUMENT', () => {
  const bad: [unknown, RegExp][] = [
    ['', /required/],
    [undefined, /required/],
    ['a/b', /contains '\/'/],
    ['..', /'\.\.'/],
    ['a..b', /'\.\.'/],
    ['-rf', /starts with '-'/],
    ['.hidden', /starts with '\.'/],
    ['a\nb', /control/],
    ['tab\there', /control/],
    ['del\u007f', /control/],
    ['x'.repeat(129), /128 bytes/],
    ['ü'.repeat(65), /128 bytes/],
    ['vol@snap', /'@'/],
    [' lead', /white space/],
  ];
  for (const [name, why] of bad) {
    assert.throws(() => validateName('pool', name), (e: { code: string; message: string }) => e.code === 'INVALID_ARGUMENT' && why.test(e.message), String(name));
  }
});

test('POOL/VOLUME references split at the first slash and validate both parts', () => {
  assert.deepEqual(parseVolumeRef('default/disk.qcow2'), { pool: 'default', volume: 'disk.qcow2' });
  assert.throws(() => parseVolumeRef('nopool'), /expected POOL\/VOLUME/);
  assert.throws(() => parseVolumeRef('p/a/b'), /contains '\/'/);
  assert.throws(() => parseVolumeRef('/abs'), /required/);
});

test('POOL/VOLUME@SNAP references', () => {
  assert.deepEqual(parseSnapshotRef('p/v.qcow2@before-upgrade'), { pool: 'p', volume: 'v.qcow2', snapshot: 'before-upgrade' });
  assert.deepEqual(parseSnapshotRef('p/v', false), { pool: 'p', volume: 'v' });
  assert.throws(() => parseSnapshotRef('p/v'), /expected POOL\/VOLUME@SNAPSHOT/);
  assert.throws(() => parseSnapshotRef('p/v@'), /required/);
  assert.throws(() => parseSnapshotRef('p/v@a/b'), /contains '\/'/);
});
