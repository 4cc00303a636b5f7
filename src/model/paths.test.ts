import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTargetPath, isInside } from './paths.js';

test('pool targets must be absolute and outside system directories', () => {
  assert.equal(checkTargetPath('/srv/pools/a/'), '/srv/pools/a');
  assert.equal(checkTargetPath('/var/lib/kvmpool/x/../y'), '/var/lib/kvmpool/y');
  assert.equal(checkTargetPath('/devices'), '/devices');
  for (const bad of ['/', 'relative/dir', '', '/proc', '/proc/1', '/sys/x', '/dev/shm/p', '/etc', '/etc/pools', '/usr/local/p', '/boot/x', '/srv/../etc/x', '/a\nb']) {
    assert.throws(() => checkTargetPath(bad), (e: { code: string }) => e.code === 'INVALID_ARGUMENT', bad);
  }
});

test('isInside compares whole path components', () => {
  assert.ok(isInside('/a/b', '/a'));
  assert.ok(isInside('/a', '/a'));
  assert.ok(!isInside('/ab', '/a'));
  assert.ok(!isInside('/a', '/a/b'));
});
