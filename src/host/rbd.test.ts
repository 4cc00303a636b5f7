import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostCommandError } from './exec.js';
import type { KvmpoolError } from '../model/errors.js';
import { cephTime, classifyRbd, connectionArgs, imageSpec } from './rbd.js';

/** A failed rbd call with what it printed (samples taken from Ceph 16.2 on this project's machines). */
const failed = (stderr: string, exitCode = 1) => new HostCommandError('HOST_COMMAND_FAILED', 'rbd failed', { command: 'rbd', argv: ['rbd'], exitCode, signal: null, timedOut: false, stderr, durationMs: 1 });
const codeOf = (stderr: string) => (classifyRbd(failed(stderr), 'x') as KvmpoolError).code;

test('rbd failures read as stable codes: a wrong key is AUTH_FAILED, no monitor UNAVAILABLE, not a NOT_FOUND', () => {
  const wrongKey = 'monclient(hunting): handle_auth_bad_method server allowed_methods [2] but i only support [2,1]\nmonclient(hunting): authenticate timed out after 5\nrbd: couldn\'t connect to the cluster!';
  assert.equal(codeOf(wrongKey), 'AUTH_FAILED');
  assert.equal(codeOf("monclient(hunting): authenticate timed out after 5\n\nrbd: couldn't connect to the cluster!"), 'UNAVAILABLE');
  assert.equal(codeOf('librbd::api::Image: list_images: error listing v1 images: (1) Operation not permitted\nrbd: listing images failed: (1) Operation not permitted'), 'AUTH_FAILED');
  assert.equal(codeOf("rbd: error opening pool 'nopool': (2) No such file or directory"), 'NOT_FOUND');
  assert.equal(codeOf("rbd: namespace 'nons' does not exist.\nrbd: listing images failed: (2) No such file or directory"), 'NOT_FOUND');
  assert.equal(codeOf('rbd: create error: (17) File exists\nlibrbd: rbd image a already exists'), 'ALREADY_EXISTS');
  assert.equal(codeOf('rbd: shrinking an image is only allowed with the --allow-shrink flag'), 'HOST_COMMAND_FAILED');
});

test('a key librados cannot decode is never repeated in an error', () => {
  const key = 'AQBkZXNrdG9wLWtleS1ub3QtcmVhbA==';
  const e = failed(`auth: failed to decode key '${key}\n'\nmonclient: keyring not found\nrbd: couldn't connect to the cluster!`);
  const out = classifyRbd(e, 'x') as KvmpoolError;
  assert.equal(out.code, 'AUTH_FAILED');
  assert.ok(!JSON.stringify([out.message, out.details, e.details, e.message]).includes(key));
});

test('every call names its cluster, reads no ceph.conf and is bounded; images are named pool[/namespace]/image', () => {
  const args = connectionArgs({ monitors: ['10.0.0.1:3300', '10.0.0.2:3300'], user: 'kvm', keyFile: '/k' });
  assert.deepEqual(args.slice(0, 8), ['--conf', '/dev/null', '-m', '10.0.0.1:3300,10.0.0.2:3300', '--id', 'kvm', '--keyfile', '/k']);
  assert.ok(args.includes('--client-mount-timeout'));
  const place = { monitors: [], user: 'u', keyFile: '/k', pool: 'vms' };
  assert.equal(imageSpec(place, 'a'), 'vms/a');
  assert.equal(imageSpec({ ...place, namespace: 'ns' }, 'a', 's1'), 'vms/ns/a@s1');
  assert.equal(cephTime('Mon Dec  7 12:01:38 2026')?.slice(0, 10), '2026-12-07');
  assert.equal(cephTime('not a time'), undefined);
});
