import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '../../test/helpers/tmp.js';
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

/** Whether process `pid` still runs (a zombie has ended: only its exit status is left). */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== '' && state !== 'Z' && state !== 'X';
}

/** Whether process `pid` still runs after up to `ms` (it is looked at every 50 ms). */
async function runningAfter(pid: number, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    if (!(await running(pid))) return false;
  }
  return running(pid);
}

/** Kills what a failed test left running. */
async function stopAll(pids: number[]): Promise<void> {
  for (const pid of pids) {
    if (pid > 0 && (await running(pid))) process.kill(pid, 'SIGKILL');
  }
}

test('a command past its timeout is stopped: SIGTERM, then SIGKILL if it ignores it, and its children with it', async () => {
  const { dir, cleanup } = await tempDir();
  let started: number[] = [];
  try {
    const pids = path.join(dir, 'pids');
    // The shell ignores TERM (and so does its sleep, which inherits that): only SIGKILL ends them.
    // The sleep does not hold the command's output open: run() returns when the shell is gone.
    const script = 'trap "" TERM; sleep 30 >/dev/null 2>&1 & echo "$$ $!" > "$0"; wait';
    const e = await run('sh', ['-c', script, pids], { timeoutMs: 1000, killGraceMs: 300 }).catch((x: unknown) => x);
    assert.ok(e instanceof HostCommandError);
    assert.equal(e.code, 'HOST_COMMAND_TIMEOUT');
    assert.equal(e.details.timedOut, true);
    assert.equal(e.details.signal, 'SIGKILL');
    started = (await readFile(pids, 'utf8')).trim().split(' ').map(Number);
    assert.ok(started.length === 2 && started.every((pid) => pid > 0));
    assert.equal(await running(started[0]!), false, 'the shell is gone');
    // The group's SIGKILL reaches the grandchild a moment after the shell's exit is seen (a loaded host).
    assert.equal(await runningAfter(started[1]!, 2000), false, "the shell's sleep is gone");
  } finally {
    await stopAll(started);
    await cleanup();
  }
});

test('an aborted command ends as CANCELLED, and its children with it', async () => {
  const ac = new AbortController();
  let printed = '';
  const started = () => printed.trim().split(' ').map(Number);
  try {
    const e = await run('sh', ['-c', 'sleep 30 >/dev/null 2>&1 & echo "$$ $!"; wait'], {
      signal: ac.signal,
      // Aborted once it has started its child and said so.
      onStdout: (chunk) => {
        printed += chunk;
        if (printed.includes('\n')) ac.abort();
      },
    }).catch((x: unknown) => x);
    assert.ok(e instanceof HostCommandError);
    assert.equal(e.code, 'CANCELLED');
    assert.equal(e.details.timedOut, false);
    const [shell, sleep] = started();
    assert.ok(shell! > 0 && sleep! > 0, printed);
    assert.equal(await running(shell!), false, 'the shell is gone');
    assert.equal(await running(sleep!), false, "the shell's sleep is gone");
  } finally {
    await stopAll(started());
  }
});

test('a command does not outlive the process that ran it', async () => {
  const { dir, cleanup } = await tempDir();
  let started: number[] = [];
  try {
    const pidFile = path.join(dir, 'pid');
    // A process that starts a long command and exits while it runs (a daemon stopping mid-call).
    const exec = new URL('./exec.js', import.meta.url).href;
    const source = `import { run } from ${JSON.stringify(exec)};
run('sh', ['-c', 'echo $$ > "$0"; exec sleep 300', ${JSON.stringify(pidFile)}]).catch(() => {});
setInterval(() => {}, 1000);
setTimeout(() => process.exit(0), 1000);`;
    const program = path.join(dir, 'leaves.mjs');
    await writeFile(program, source);
    await run(process.execPath, [program], { timeoutMs: 20_000 });
    started = [Number((await readFile(pidFile, 'utf8')).trim())];
    assert.ok(started[0]! > 0);
    for (let i = 0; i < 20 && (await running(started[0]!)); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await running(started[0]!), false, 'the command ended with its process');
  } finally {
    await stopAll(started);
    await cleanup();
  }
});
