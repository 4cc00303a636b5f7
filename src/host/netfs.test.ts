import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KvmpoolError } from '../model/errors.js';
import { HostCommandError } from './exec.js';
import { classifyMountError, netMountArgs, parseShowmount, parseStatfs, type NetShare } from './netfs.js';

const nfs: NetShare = { protocol: 'nfs', host: '10.0.0.1', export: '/srv/vm', version: '4.2', options: ['noatime'] };
const cifs: NetShare = { protocol: 'cifs', host: 'nas.example', share: 'vms', username: 'alice', domain: 'CORP', version: '3.1.1', options: [] };

test('netfs: mount argv; the safe options come last, a password never appears', () => {
  assert.deepEqual(netMountArgs(nfs, '/p'), ['-t', 'nfs', '-o', 'noatime,vers=4.2,retry=0,nodev,nosuid,noexec', '10.0.0.1:/srv/vm', '/p']);
  assert.deepEqual(netMountArgs({ ...nfs, host: 'fd00::1', version: undefined as never, options: [] }, '/p').slice(3), ['retry=0,nodev,nosuid,noexec', '[fd00::1]:/srv/vm', '/p']);
  assert.deepEqual(netMountArgs(cifs, '/p'), ['-t', 'cifs', '-o', 'username=alice,domain=CORP,vers=3.1.1,nobrl,nodev,nosuid,noexec', '//nas.example/vms', '/p']);
  assert.deepEqual(netMountArgs({ protocol: 'cifs', host: 'h', share: 's', options: [] }, '/p')[3], 'guest,nobrl,nodev,nosuid,noexec');
});

const failed = (stderr: string, timedOut = false) =>
  new HostCommandError(timedOut ? 'HOST_COMMAND_TIMEOUT' : 'HOST_COMMAND_FAILED', 'mount failed', { command: 'mount', argv: [], exitCode: 32, signal: null, timedOut, stderr, durationMs: 1 });

test('netfs: what a failed mount means', () => {
  const code = (s: NetShare, stderr: string, timedOut = false) => (classifyMountError(s, failed(stderr, timedOut)) as KvmpoolError).code;
  assert.equal(code(cifs, 'mount error(13): Permission denied\nRefer to the mount.cifs(8) manual page'), 'AUTH_FAILED');
  assert.equal(code(nfs, 'mount.nfs: access denied by server while mounting 10.0.0.1:/srv/vm'), 'AUTH_FAILED');
  assert.equal(code(cifs, 'mount error(2): No such file or directory'), 'NOT_FOUND');
  assert.equal(code(nfs, 'mount.nfs: mounting 10.0.0.1:/x failed, reason given by server: No such file or directory'), 'NOT_FOUND');
  assert.equal(code(nfs, 'mount.nfs: Connection refused'), 'UNAVAILABLE');
  assert.equal(code(cifs, 'mount error(113): could not connect to 10.0.0.9'), 'UNAVAILABLE');
  assert.equal(code(nfs, '', true), 'UNAVAILABLE');
  assert.equal(code(nfs, 'mount: something else entirely'), 'HOST_COMMAND_FAILED');
});

test('netfs: statfs and showmount output', () => {
  assert.deepEqual(parseStatfs('4096 1000 400 300\n'), { capacity: 4096000, allocation: 4096 * 600, available: 4096 * 300 });
  assert.throws(() => parseStatfs('4096 1000 x 300'), /stat printed malformed output/);
  assert.deepEqual(parseShowmount('/srv/vm  10.0.0.0/8,127.0.0.1\n/srv/iso (everyone)\n'), [
    { export: '/srv/vm', clients: ['10.0.0.0/8', '127.0.0.1'] },
    { export: '/srv/iso', clients: ['(everyone)'] },
  ]);
  assert.throws(() => parseShowmount('garbage'), /showmount/);
});
