import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KvmpoolError } from '../model/errors.js';
import { HostCommandError } from './exec.js';
import { checkIscsiName, classifyIscsiError, parsePortal, parseSendTargets, portalText } from './iscsi.js';

test('iscsi: portals, with their default port, in one form', () => {
  assert.deepEqual(parsePortal('san1'), { host: 'san1', port: 3260 });
  assert.deepEqual(parsePortal('10.0.0.1:3261'), { host: '10.0.0.1', port: 3261 });
  assert.deepEqual(parsePortal('[fd00::1]:3260'), { host: 'fd00::1', port: 3260 });
  assert.equal(portalText(parsePortal('[fd00::1]')), '[fd00::1]:3260');
  for (const bad of ['127.0.0.1;reboot', '-p', 'a b', 'h:0', 'h:70000', 'fd00::1', '$(x)', '']) assert.throws(() => parsePortal(bad), { code: 'INVALID_ARGUMENT' }, bad);
});

test('iscsi: names', () => {
  for (const ok of ['iqn.2026-12.com.example:vms', 'iqn.2026-12.com.example', 'eui.0123456789ABCDEF', 'naa.60014052e6f3a6f1']) assert.equal(checkIscsiName(ok, 'iqn'), ok);
  for (const bad of ['not an iqn', 'iqn.26-12.x:y', 'iqn.2026-12.x:a b', 'eui.123']) assert.throws(() => checkIscsiName(bad, 'iqn'), { code: 'INVALID_ARGUMENT' }, bad);
});

test('iscsi: sendtargets output', () => {
  assert.deepEqual(parseSendTargets('127.0.0.1:3260,1 iqn.2026-12.test:san\n[fd00::1]:3260,1 iqn.2026-12.test:san\n'), [
    { portal: '127.0.0.1:3260', target: 'iqn.2026-12.test:san' },
    { portal: '[fd00::1]:3260', target: 'iqn.2026-12.test:san' },
  ]);
  assert.throws(() => parseSendTargets('garbage'), /iscsiadm printed malformed output/);
});

test('iscsi: what a failed iscsiadm means, by its exit code', () => {
  const failed = (exitCode: number, stderr = '', timedOut = false) =>
    classifyIscsiError(new HostCommandError('HOST_COMMAND_FAILED', 'iscsiadm failed', { command: 'iscsiadm', argv: [], exitCode, signal: null, timedOut, stderr, durationMs: 1 }), 'p:3260') as KvmpoolError;
  assert.equal(failed(24).code, 'AUTH_FAILED');
  assert.equal(failed(19).code, 'AUTH_FAILED');
  assert.equal(failed(20).code, 'UNAVAILABLE');
  assert.match(failed(20).message, /iscsid is not running/);
  assert.equal(failed(8).code, 'UNAVAILABLE');
  assert.equal(failed(1, 'iscsiadm: cannot make connection to 10.0.0.1: Connection refused').code, 'UNAVAILABLE');
  assert.equal(failed(0, '', true).code, 'UNAVAILABLE');
  assert.equal(failed(7).code, 'HOST_COMMAND_FAILED');
});
