import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvmpoolError } from '../../../model/errors.js';
import { checkNetfsSource, shareOf, type NetfsSource } from './netfs-settings.js';

test('netfs settings: defaults and normal forms', () => {
  assert.deepEqual(checkNetfsSource({ host: 'nas.example', export: '/srv//vm/' }, false), { host: 'nas.example', protocol: 'nfs', export: '/srv/vm' });
  assert.deepEqual(shareOf(checkNetfsSource({ host: '10.0.0.1', protocol: 'cifs', share: 'vms', username: 'bob' }, true)), { protocol: 'cifs', host: '10.0.0.1', share: 'vms', username: 'bob', options: [] });
  assert.equal(checkNetfsSource({ host: 'fd00::1', export: '/x' }, false).host, 'fd00::1');
});

test('netfs settings: each bad input is INVALID_ARGUMENT', () => {
  const bad: [NetfsSource, boolean][] = [
    [{ host: 'a b', export: '/x' }, false],
    [{ host: '$(reboot)', export: '/x' }, false],
    [{ host: 'h', export: 'x' }, false],
    [{ host: 'h' }, false],
    [{ host: 'h', export: '/x' }, true],
    [{ host: 'h', export: '/x', share: 's' }, false],
    [{ host: 'h', export: '/x', mountOptions: ['suid'] }, false],
    [{ host: 'h', export: '/x', mountOptions: ['vers=3'] }, false],
    [{ host: 'h', export: '/x', mountOptions: ['a=b,exec'] }, false],
    [{ host: 'h', protocol: 'cifs' }, false],
    [{ host: 'h', protocol: 'cifs', share: 'a/b' }, false],
    [{ host: 'h', protocol: 'cifs', share: 's', username: 'x=y' }, false],
    [{ host: 'h', protocol: 'cifs', share: 's' }, true],
    [{ host: 'h', protocol: 'cifs', share: 's', nfsVersion: '3' }, false],
  ];
  for (const [s, password] of bad) {
    assert.throws(() => checkNetfsSource(s, password), (e: unknown) => e instanceof KvmpoolError && e.code === 'INVALID_ARGUMENT', JSON.stringify(s));
  }
});
