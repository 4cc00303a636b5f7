import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMountInfo } from './mountinfo.js';

test('mountinfo: network mounts, optional fields, escaped paths', () => {
  const text = [
    '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro',
    '98 22 0:52 / /var/lib/kvmpool/nas rw,nosuid,nodev,noexec,relatime shared:60 - nfs4 127.0.0.1:/srv/vm rw,vers=4.2,hard,proto=tcp',
    '99 22 0:53 / /mnt/with\\040space rw,relatime - cifs //127.0.0.1/vms rw,vers=3.1.1,username=root',
    '',
  ].join('\n');
  const m = parseMountInfo(text);
  assert.equal(m.length, 3);
  assert.deepEqual(m[1], {
    target: '/var/lib/kvmpool/nas',
    fstype: 'nfs4',
    source: '127.0.0.1:/srv/vm',
    options: ['rw', 'nosuid', 'nodev', 'noexec', 'relatime', 'rw', 'vers=4.2', 'hard', 'proto=tcp'],
  });
  assert.equal(m[2]!.target, '/mnt/with space');
  assert.equal(m[2]!.source, '//127.0.0.1/vms');
});

test('mountinfo: a line without its separator is an error, not a mount', () => {
  assert.throws(() => parseMountInfo('22 1 8:1 / / rw,relatime shared:1 ext4 /dev/sda1 rw'), /mountinfo/);
});
