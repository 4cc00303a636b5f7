import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { run } from '../../src/host/exec.js';
import { kvmpool } from '../helpers/cli.js';
import { rawCall, recordEvents, withDaemon, type TestDaemon } from '../helpers/daemon.js';
import { keyedDirType } from '../pool-types/keyed-dir.js';

/** A key nobody would type: if it shows up anywhere, it leaked. */
const KEY = `kvmpool-test-key-${createHash('sha256').update(String(process.pid)).digest('hex').slice(0, 24)}`;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** Every place a daemon could leak a secret to: its store files, its log lines, the events it sent. */
async function leaks(t: TestDaemon, events: unknown[]): Promise<string[]> {
  const found: string[] = [];
  for (const f of (await readdir(t.home)).filter((n) => n.startsWith('kvmpool.db'))) {
    if ((await readFile(path.join(t.home, f))).includes(KEY)) found.push(f);
  }
  if (t.logs.some((l) => l.includes(KEY))) found.push('the log');
  if (JSON.stringify(events).includes(KEY)) found.push('the events');
  return found;
}

/**
 * Puts a `sha256sum` first on PATH that writes down its command line (what `ps` would show) before it
 * runs the real one: the test pool type checks its key with it. Returns the file it writes to.
 */
async function recordSha256sum(dir: string): Promise<string> {
  const bin = path.join(dir, 'recording-bin');
  const log = path.join(dir, 'sha256sum.argv');
  await mkdir(bin, { recursive: true });
  const real = (await run('sh', ['-c', 'command -v sha256sum'])).stdout.trim();
  await writeFile(path.join(bin, 'sha256sum'), `#!/bin/sh\nprintf 'sha256sum %s\\n' "$*" >> '${log}'\nexec ${real} "$@"\n`, { mode: 0o755 });
  process.env['PATH'] = `${bin}:${process.env['PATH'] ?? ''}`;
  return log;
}

test('secrets are write-only: kept apart (0600), handed to the driver as files, never answered, logged, sent as events or put on a command line', () =>
  withDaemon(
    async (t) => {
      const recorder = await recordEvents(t.client);
      const target = path.join(t.home, 'keyed');
      const defined = await rawCall(t.client, 'definePool', { body: { name: 'k', type: 'keyed-dir', target, source: { key: KEY, keySha256: sha(KEY) } } });
      assert.deepEqual(defined.source, { keySha256: sha(KEY) });
      assert.deepEqual(defined.secrets, ['key']);
      await t.client.api.buildPool({ params: { pool: 'k' } });
      const argvLog = await recordSha256sum(t.home);
      assert.equal((await t.client.api.startPool({ params: { pool: 'k' } })).state, 'running');
      const commandLines = (await readFile(argvLog, 'utf8')).trim().split('\n');
      assert.ok(commandLines.some((c) => c.startsWith('sha256sum ')), 'the driver checked the key with a host command');
      assert.deepEqual(commandLines.filter((c) => c.includes(KEY)), [], 'no command line carries the key');
      for (const answer of [await t.client.api.getPool({ params: { pool: 'k' } }), await t.client.api.listPools(), await t.client.api.listStorageTypes()]) {
        assert.ok(!JSON.stringify(answer).includes(KEY));
      }
      // Kept apart from the store, readable by root only.
      const dir = path.join(t.home, 'secrets', 'pools', 'k');
      assert.equal((await stat(path.join(t.home, 'secrets'))).mode & 0o777, 0o700);
      assert.equal((await stat(dir)).mode & 0o777, 0o700);
      assert.equal((await stat(path.join(dir, 'key'))).mode & 0o777, 0o600);
      assert.equal(await readFile(path.join(dir, 'key'), 'utf8'), KEY);
      // A wrong key is refused by the storage with its own code.
      const wrong = await rawCall(t.client, 'definePool', { body: { name: 'w', type: 'keyed-dir', target: path.join(t.home, 'w'), source: { key: 'not-it', keySha256: sha(KEY) } } });
      assert.deepEqual(wrong.secrets, ['key']);
      await t.client.api.buildPool({ params: { pool: 'w' } });
      await assert.rejects(t.client.api.startPool({ params: { pool: 'w' } }), { code: 'AUTH_FAILED' });
      // After a restart the pool opens with the key it kept (and the key is what opens it: one that
      // changed on disk is refused by the storage at the next start).
      await t.restart();
      assert.ok(!t.logs.some((l) => /pool k: could not start/.test(l)), t.logs.join('\n'));
      assert.equal((await t.client.api.getPool({ params: { pool: 'k' } })).state, 'running');
      await writeFile(path.join(dir, 'key'), 'changed behind its back');
      await t.restart();
      assert.ok(t.logs.some((l) => /pool k: could not start: .*refused the key/.test(l)), t.logs.join('\n'));
      await writeFile(path.join(dir, 'key'), KEY);
      // A define that fails leaves no secret behind; a name defined again has only its new secrets.
      await assert.rejects(rawCall(t.client, 'definePool', { body: { name: 'bad', type: 'keyed-dir', target: '/etc/bad', source: { key: KEY, keySha256: sha(KEY) } } }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(stat(path.join(t.home, 'secrets', 'pools', 'bad')), { code: 'ENOENT' });
      await rawCall(t.client, 'definePool', { body: { name: 'again', type: 'keyed-dir', target: path.join(t.home, 'again'), source: { key: 'first', keySha256: sha('first') } } });
      await t.client.api.undefinePool({ params: { pool: 'again' } });
      await rawCall(t.client, 'definePool', { body: { name: 'again', type: 'keyed-dir', target: path.join(t.home, 'again'), source: { key: 'second', keySha256: sha('second') } } });
      assert.equal(await readFile(path.join(t.home, 'secrets', 'pools', 'again', 'key'), 'utf8'), 'second');
      await t.client.api.stopPool({ params: { pool: 'k' } });
      await t.client.api.undefinePool({ params: { pool: 'k' } });
      await assert.rejects(stat(dir), { code: 'ENOENT' }, 'undefine removes the secrets');
      await recorder.stop();
      assert.deepEqual(await leaks(t, recorder.events), []);
    },
    { storageTypes: [keyedDirType] },
  ));

test('the CLI reads a secret from a file or standard input, never from its own arguments, and never prints it', () =>
  withDaemon(
    async (t) => {
      const recorder = await recordEvents(t.client);
      const k = (...args: string[]) => kvmpool(['--home', t.home, ...args]);
      const keyFile = path.join(t.home, 'key.txt');
      await writeFile(keyFile, `${KEY}\n`, { mode: 0o600 });
      const define = await k('pool', 'define', 'a', '--type', 'keyed-dir', '--target', path.join(t.home, 'a'), '--key-file', keyFile, '--key-sha256', sha(KEY), '--json');
      assert.equal(define.code, 0, define.stderr);
      assert.ok(!define.stdout.includes(KEY));
      assert.deepEqual(JSON.parse(define.stdout).secrets, ['key']);
      // Standard input, for keys that never touch a file.
      const stdinDefine = spawn(process.execPath, [path.resolve('bin/kvmpool.js'), '--home', t.home, 'pool', 'define', 'b', '--type', 'keyed-dir', '--target', path.join(t.home, 'b'), '--key-file', '-', '--key-sha256', sha(KEY)], { stdio: ['pipe', 'pipe', 'pipe'] });
      stdinDefine.stdin.end(`${KEY}\n`);
      const code = await new Promise<number | null>((r) => stdinDefine.once('close', r));
      assert.equal(code, 0);
      for (const pool of ['a', 'b']) {
        assert.equal((await k('pool', 'build', pool)).code, 0);
        const started = await k('pool', 'start', pool);
        assert.equal(started.code, 0, started.stderr);
        assert.match(started.stdout, /secrets:\s+key \(kept apart, never shown\)/);
        assert.ok(!started.stdout.includes(KEY));
      }
      // A secret given on the command line itself is not a flag the type has.
      const inline = await k('pool', 'define', 'c', '--type', 'keyed-dir', '--target', path.join(t.home, 'c'), '--key', KEY, '--key-sha256', sha(KEY));
      assert.equal(inline.code, 2);
      assert.match(inline.stderr, /--key-file/);
      const types = await k('pool', 'types');
      assert.match(types.stdout, /keyed-dir: .*\n(.*\n)*\s+pool define --key-file <value>/);
      await recorder.stop();
      assert.ok(recorder.events.some((e) => e.type === 'pool.defined'), 'events were recorded');
      assert.deepEqual(await leaks(t, recorder.events), []);
    },
    { storageTypes: [keyedDirType] },
  ));

test('a daemon without a pool\'s type keeps serving: that pool is degraded and says why, the others work', () =>
  withDaemon(
    async (t) => {
      await rawCall(t.client, 'definePool', { body: { name: 'k', type: 'keyed-dir', target: path.join(t.home, 'k'), source: { key: KEY, keySha256: sha(KEY) } } });
      await t.client.api.buildPool({ params: { pool: 'k' } });
      await t.client.api.startPool({ params: { pool: 'k' } });
      await t.daemon.close();
      const { startDaemon } = await import('../../src/daemon/daemon.js');
      const logs: string[] = [];
      const other = await startDaemon({ home: t.home, listen: null, log: (m) => void logs.push(m) });
      try {
        const pools = await other.pools.list();
        const k = pools.find((p) => p.name === 'k')!;
        assert.equal(k.state, 'degraded');
        assert.match(k.reason ?? '', /type keyed-dir is not one this kvmpool has/);
        assert.ok(logs.some((l) => /pool k: not started: its type keyed-dir/.test(l)));
        await other.pools.maintain();
        await assert.rejects(other.pools.start('k'), { code: 'NOT_SUPPORTED' });
        await other.pools.define({ name: 'plain', type: 'dir', target: path.join(t.home, 'plain') });
        assert.equal((await other.pools.info('plain')).type, 'dir');
        await assert.rejects(other.pools.define({ name: 'inside', type: 'dir', target: path.join(t.home, 'k', 'sub') }), { code: 'IN_USE' });
      } finally {
        await other.close();
      }
      await t.restart();
      assert.equal((await t.client.api.getPool({ params: { pool: 'k' } })).state, 'running', 'a daemon with the type brings it back');
    },
    { storageTypes: [keyedDirType] },
  ));
