import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../src/host/exec.js';
import { KVMPOOL_BIN, kvmpool, serve, withServe, type CliResult } from '../helpers/cli.js';
import { skipWhenMissing } from '../helpers/requirements.js';
import { tempDir } from '../helpers/tmp.js';

const MiB = 1024 * 1024;

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}`);
  return r;
}
const json = <T>(r: CliResult): T => JSON.parse(r.stdout) as T;

interface Vol { name: string; format: string; capacity: number; allocation: number; key: string; path: string }
interface Pool { name: string; state: string; capacity: number; allocation: number; available: number; target: string }

test('the README walk-through, with the CLI against a real daemon', async () => {
  const { dir, cleanup } = await tempDir();
  const home = path.join(dir, 'home');
  let daemon = await serve(home);
  try {
    const k = (...args: string[]) => kvmpool(['--home', home, ...args]);
    assert.match(daemon.output(), /socket: .*kvmpool\.sock/);
    assert.match(daemon.output(), /bearer token in .*token/);

    const target = path.join(dir, 'images');
    ok(await k('pool', 'define', 'images', '--type', 'dir', '--target', target), 'define');
    ok(await k('pool', 'build', 'images'), 'build');
    const started = json<Pool>(ok(await k('pool', 'start', 'images', '--json'), 'start'));
    assert.equal(started.state, 'running');
    assert.ok(started.capacity > 0 && started.available > 0);
    const list = ok(await k('pool', 'list'), 'pool list').stdout;
    assert.match(list, /^NAME\s+TYPE\s+STATE/m);
    assert.match(list, /^images\s+dir\s+running/m);
    assert.match(list, /^default\s+dir\s+running/m);

    ok(await k('vol', 'create', 'images/sparse.img', '--size', '1G'), 'sparse');
    ok(await k('vol', 'create', 'images/full.img', '--size', '64M', '--prealloc', 'full'), 'full');
    const q = json<Vol>(ok(await k('vol', 'create', 'images/disk.qcow2', '--size', '10G', '--format', 'qcow2', '--json'), 'qcow2'));
    assert.equal(q.format, 'qcow2');
    assert.equal(q.capacity, 10 * 1024 * MiB);
    await run('qemu-img', ['check', '-f', 'qcow2', q.path]);

    const resized = json<Vol>(ok(await k('vol', 'resize', 'images/sparse.img', '--size', '2G', '--json'), 'resize'));
    assert.equal(resized.capacity, 2048 * MiB);
    const shrink = await k('vol', 'resize', 'images/sparse.img', '--size', '1G');
    assert.equal(shrink.code, 7);
    assert.match(shrink.stderr, /^kvmpool: .*--shrink \[CANNOT_SHRINK\]\n$/);
    ok(await k('vol', 'rename', 'images/disk.qcow2', 'root.qcow2'), 'rename');
    ok(await k('vol', 'create', 'images/scratch.img', '--size', '16M'), 'scratch');
    ok(await k('vol', 'delete', 'images/scratch.img'), 'delete');

    const before = json<Vol[]>(ok(await k('vol', 'list', 'images', '--json'), 'list'));
    assert.deepEqual(before.map((v) => v.name), ['full.img', 'root.qcow2', 'sparse.img']);
    const full = before.find((v) => v.name === 'full.img')!;
    const sparse = before.find((v) => v.name === 'sparse.img')!;
    assert.ok(full.allocation >= 64 * MiB, 'preallocated');
    assert.ok(sparse.allocation < MiB, 'sparse');
    assert.equal((await stat(sparse.path)).size, 2048 * MiB);

    // restart the daemon: same pools, volumes, sizes, allocations, keys
    await daemon.stop();
    daemon = await serve(home);
    const after = json<Vol[]>(ok(await k('vol', 'list', 'images', '--json'), 'list after restart'));
    assert.deepEqual(
      after.map((v) => [v.name, v.format, v.capacity, v.allocation, v.key]),
      before.map((v) => [v.name, v.format, v.capacity, v.allocation, v.key]),
    );
    assert.equal(json<Pool>(ok(await k('pool', 'info', 'images', '--json'), 'info')).state, 'running');

    // a file copied in by hand appears after refresh
    await copyFile(full.path, path.join(target, 'by-hand.img'));
    ok(await k('pool', 'refresh', 'images'), 'refresh');
    const listed = ok(await k('vol', 'list', 'images'), 'vol list').stdout;
    assert.match(listed, /^by-hand\.img\s+raw\s+64 MiB\s+64 MiB\s+foreign/m);

    // over TCP with URL and token, as a script would
    const token = (await readFile(path.join(home, 'token'), 'utf8')).trim();
    const tcp = await kvmpool(['pool', 'info', 'images', '--json'], { KVMPOOL_URL: daemon.url, KVMPOOL_TOKEN: token, KVMPOOL_HOME: path.join(dir, 'elsewhere') });
    assert.equal(json<Pool>(ok(tcp, 'tcp')).name, 'images');
    const denied = await kvmpool(['pool', 'list'], { KVMPOOL_URL: daemon.url, KVMPOOL_TOKEN: 'wrong' });
    assert.equal(denied.code, 13);
    assert.match(denied.stderr, /UNAUTHORIZED/);
    // KVMPOOL_HOME selects the daemon's socket like --home
    assert.equal(json<Pool>(ok(await kvmpool(['pool', 'info', 'images', '--json'], { KVMPOOL_HOME: home }), 'env home')).name, 'images');
  } finally {
    await daemon.stop();
    await cleanup();
  }
});

test('CLI errors are one line with a stable exit code; --json errors are JSON', () =>
  withServe(async ({ dir, k }) => {
    const cases: [string[], number, RegExp][] = [
      [['vol', 'info', 'default/missing.img'], 3, /not found \[NOT_FOUND\]/],
      [['vol', 'create', 'default/a', '--size', '0'], 2, /greater than zero \[INVALID_ARGUMENT\]/],
      [['vol', 'create', 'nopool', '--size', '1G'], 2, /expected POOL\/VOLUME/],
      [['pool', 'define', 'x', '--type', 'dir', '--target', '/etc/x'], 2, /system directory/],
      [['pool', 'undefine', 'default'], 6, /stop it first \[POOL_ACTIVE\]/],
      [['pool', 'frobnicate'], 2, /unknown command/],
    ];
    for (const [args, code, message] of cases) {
      const r = await k(...args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
    }
    const j = await k('vol', 'info', 'default/missing.img', '--json');
    assert.equal(JSON.parse(j.stdout).error.code, 'NOT_FOUND');
    const noDaemon = await kvmpool(['--home', path.join(dir, 'none'), 'pool', 'list']);
    assert.equal(noDaemon.code, 14);
    assert.match(noDaemon.stderr, /cannot reach the kvmpool daemon/);
  }));

test('on a terminal, a preallocated create shows a progress bar', async (t) => {
  const script = await run('sh', ['-c', 'command -v script']).catch(() => undefined);
  if (skipWhenMissing(t, script ? undefined : 'script(1) (bsdutils) is not installed')) return;
  await withServe(async ({ home }) => {
    const cmd = [process.execPath, KVMPOOL_BIN, '--home', home, 'vol', 'create', 'default/bar.img', '--size', '256M', '--prealloc', 'full'].map((a) => `'${a}'`).join(' ');
    const { stdout } = await run('script', ['-qec', cmd, '/dev/null'], { timeoutMs: 60_000 });
    assert.match(stdout, /volume\.create default\/bar\.img \[[^\]]*\] 100% \| 256 MiB \/ 256 MiB/);
    assert.match(stdout, /ETA/);
    assert.match(stdout, /name:\s+default\/bar\.img/);
  });
});
