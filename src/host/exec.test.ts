import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostCommandError, run } from './exec.js';

test('run returns output of a successful command with LC_ALL=C', async () => {
  const r = await run('sh', ['-c', 'printf "%s" "$LC_ALL"; printf err >&2']);
  assert.equal(r.stdout, 'C');
  assert.equal(r.stderr, 'err');
});

test('arguments are passed as argv, never through a shell', async () => {
  const r = await run('printf', ['%s|', 'a b', '$(echo no)', ';rm -rf /']);
  assert.equal(r.stdout, 'a b|$(echo no)|;rm -rf /|');
});

test('a failing command throws a structured error', async () => {
  const e = await run('sh', ['-c', 'echo first >&2; echo "last line" >&2; exit 3']).catch((x: unknown) => x);
  assert.ok(e instanceof HostCommandError);
  assert.equal(e.code, 'HOST_COMMAND_FAILED');
  assert.equal(e.details.exitCode, 3);
  assert.deepEqual(e.details.argv, ['sh', '-c', 'echo first >&2; echo "last line" >&2; exit 3']);
  assert.equal(e.details.stderr, 'first\nlast line');
  assert.match(e.message, /exit 3.*last line/);
});

test('a missing tool is HOST_TOOL_MISSING', async () => {
  const e = await run('kvmpool-no-such-tool', []).catch((x: unknown) => x);
  assert.ok(e instanceof HostCommandError);
  assert.equal(e.code, 'HOST_TOOL_MISSING');
});

test('a command past its timeout is stopped: SIGTERM, then SIGKILL if it ignores it', async () => {
  const started = Date.now();
  const e = await run('sh', ['-c', "trap '' TERM; sleep 5"], { timeoutMs: 200, killGraceMs: 200 }).catch((x: unknown) => x);
  assert.ok(e instanceof HostCommandError);
  assert.equal(e.code, 'HOST_COMMAND_TIMEOUT');
  assert.equal(e.details.timedOut, true);
  assert.ok(Date.now() - started < 4000, 'killed well before the sleep ends');
});

test('an aborted command ends as CANCELLED', async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  const e = await run('sleep', ['5'], { signal: ac.signal }).catch((x: unknown) => x);
  assert.ok(e instanceof HostCommandError);
  assert.equal(e.code, 'CANCELLED');
});
