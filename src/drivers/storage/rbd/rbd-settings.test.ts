import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRbdSource, checkRbdVolumeOptions } from './rbd-settings.js';

const base = { monitors: ['10.0.0.1'], rbdPool: 'vms', user: 'client.kvmpool' };

test('rbd settings: monitors get their port, the user loses "client.", names Ceph refuses are INVALID_ARGUMENT', () => {
  assert.deepEqual(checkRbdSource({ ...base, monitors: ['10.0.0.1', '10.0.0.2:6789', '[fd00::1]:3300', '10.0.0.1'] }, true), { ...base, monitors: ['10.0.0.1:3300', '10.0.0.2:6789', '[fd00::1]:3300'], user: 'kvmpool' });
  for (const bad of [{ monitors: ['a b'] }, { monitors: ['h:99999'] }, { rbdPool: 'a/b' }, { namespace: 'n@s' }, { user: 'x y' }]) {
    assert.throws(() => checkRbdSource({ ...base, ...bad }, true), { code: 'INVALID_ARGUMENT' }, JSON.stringify(bad));
  }
  assert.throws(() => checkRbdSource(base, false), { code: 'INVALID_ARGUMENT', message: /cephx key/ });
});

test('rbd volume options: object sizes are powers of two from 4K to 32M, features known and consistent', () => {
  assert.equal(checkRbdVolumeOptions({ objectSize: '4M' }), 4 * 1024 * 1024);
  assert.equal(checkRbdVolumeOptions({}), undefined);
  for (const objectSize of ['3M', '2K', '64M']) assert.throws(() => checkRbdVolumeOptions({ objectSize }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => checkRbdVolumeOptions({ features: ['journaling'] }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => checkRbdVolumeOptions({ features: ['layering', 'object-map'] }), { message: /exclusive-lock/ });
  checkRbdVolumeOptions({ features: ['layering'] });
});
