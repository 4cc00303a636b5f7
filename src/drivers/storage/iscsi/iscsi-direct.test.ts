import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostCommandError } from '../../../host/exec.js';
import type { KvmpoolError } from '../../../model/errors.js';
import { checkDirect, classifyLook } from './iscsi-direct.js';

const failed = (stderr: string, timedOut = false) =>
  new HostCommandError(timedOut ? 'HOST_COMMAND_TIMEOUT' : 'HOST_COMMAND_FAILED', 'qemu-img failed', { command: 'qemu-img', argv: ['qemu-img', 'info'], exitCode: timedOut ? null : 1, signal: null, timedOut, stderr, durationMs: 5 });
const IQN = 'iqn.2026-12.test.kvmpool:san';
const codeOf = (r: KvmpoolError | 'gone') => (r === 'gone' ? r : r.code);

test("qemu-img's answers about a LUN (qemu 7.2, libiscsi 1.19) are read as the codes a user acts on", () => {
  const cases: [string, boolean, string][] = [
    ["qemu-img: Could not open 'driver=iscsi,...': iSCSI: Failed to connect to LUN : SENSE KEY:ILLEGAL_REQUEST(5) ASCQ:LOGICAL_UNIT_NOT_SUPPORTED(0x2500)", false, 'gone'],
    ["qemu-img: Could not open 'driver=iscsi,...': iSCSI: Failed to connect to LUN : Failed to log in to target. Status: Authentication failure(513)", false, 'AUTH_FAILED'],
    ["qemu-img: Could not open 'driver=iscsi,...': iSCSI: Failed to connect to LUN : Failed to log in to target. Status: Target not found(515)", false, 'NOT_FOUND'],
    ["qemu-img: Could not open 'driver=iscsi,...': iSCSI: Failed to connect to LUN : iscsi_service: socket error Connection refused(111).", false, 'UNAVAILABLE'],
    ["qemu-img: Could not open 'driver=iscsi,...': iSCSI: Failed to connect to LUN : iscsi_service failed with : iscsi_service_reconnect_if_loggedin. Can not reconnect right now.", false, 'UNAVAILABLE'],
    ['', true, 'UNAVAILABLE'],
    ["qemu-img: Could not open 'driver=iscsi,...': Unknown driver 'iscsi'", false, 'HOST_TOOL_MISSING'],
    ["qemu-img: Could not open 'driver=iscsi,...': iSCSI: something else entirely", false, 'HOST_COMMAND_FAILED'],
  ];
  for (const [stderr, timedOut, expected] of cases) assert.equal(codeOf(classifyLook(failed(stderr, timedOut), '127.0.0.1:3260', IQN)), expected, stderr);
  const missing = new HostCommandError('HOST_TOOL_MISSING', 'qemu-img is not installed', { command: 'qemu-img', argv: [], exitCode: null, signal: null, timedOut: false, stderr: '', durationMs: 0 });
  assert.equal(classifyLook(missing, 'p', IQN), missing, 'a missing qemu-img is said as it is');
});

test('a direct pool has one portal and one-way CHAP, and an initiator name fixed at define', async () => {
  const base = { portals: ['127.0.0.1:3260'], iqn: IQN, direct: true };
  await assert.rejects(checkDirect({ ...base, portals: ['a:3260', 'b:3260'] }), { code: 'INVALID_ARGUMENT', message: /one portal/ });
  await assert.rejects(checkDirect({ ...base, chapUser: 'u', mutualUser: 'm' }), { code: 'INVALID_ARGUMENT', message: /mutual CHAP/ });
  assert.equal((await checkDirect({ ...base, initiator: 'iqn.2026-12.test.kvmpool:given' })).initiator, 'iqn.2026-12.test.kvmpool:given');
});
