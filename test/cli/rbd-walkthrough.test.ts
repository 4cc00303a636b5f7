import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { run } from '../../src/host/exec.js';
import { kvmpool, withServe, type CliResult } from '../helpers/cli.js';
import { buildGuest, type Guest } from '../helpers/guest.js';

/** A command that must succeed. */
function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}`);
  return r;
}

/** Starts the README's throw-away cluster (test/helpers/try-ceph.ts) in `dir`; resolves with its monitor, key file and stop. */
async function tryCeph(dir: string): Promise<{ monitor: string; keyFile: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [path.resolve('dist/test/helpers/try-ceph.js'), dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 90_000;
  while (!/^ready/m.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the trial cluster did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { monitor: /^monitor (\S+)/m.exec(out)![1]!, keyFile: /^key (\S+)/m.exec(out)![1]!, stop };
}

const seconds = (t: number) => `${((performance.now() - t) / 1000).toFixed(2)} s`;

test("RBD as a new user tries it, by the CLI only: the README's cluster, a pool with a key file, a base image uploaded, ten instant clones, a VM on one, a snapshot reverted, the base deleted only when deferred, 1,000 images listed", { timeout: 600_000 }, (tc) =>
  withServe(async ({ dir, k }) => {
    const ceph = await tryCeph(path.join(dir, 'try'));
    let guest: Guest | undefined;
    try {
      ok(await k('pool', 'define', 'ceph', '--type', 'rbd', '--monitors', ceph.monitor, '--rbd-pool', 'vms', '--user', 'kvmpool', '--secret-file', ceph.keyFile), 'pool define');
      ok(await k('pool', 'build', 'ceph'), 'pool build');
      ok(await k('pool', 'start', 'ceph'), 'pool start');

      // A base image: 64 MiB, its first 16 bytes a pattern the guest reads.
      const image = path.join(dir, 'base.raw');
      await run('truncate', ['-s', '64M', image]);
      await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x42 0 2M', image]);
      ok(await k('vol', 'create', 'ceph/base', '--size', '64M'), 'vol create');
      let t = performance.now();
      assert.match(ok(await k('vol', 'upload', 'ceph/base', image), 'vol upload').stdout, /sha256/);
      tc.diagnostic(`upload of 64 MiB (2 MiB data): ${seconds(t)}`);

      t = performance.now();
      for (let i = 1; i <= 10; i++) ok(await k('vol', 'clone', 'ceph/base', `vm${i}`), `clone ${i}`);
      tc.diagnostic(`ten layered clones by the CLI: ${seconds(t)}`);
      const listed = JSON.parse(ok(await k('--json', 'vol', 'list', 'ceph'), 'vol list').stdout) as { name: string; parent?: string; kind: string }[];
      assert.equal(listed.filter((v) => v.kind === 'clone' && v.parent === 'vms/base').length, 10);

      guest = await buildGuest('echo "READ $(head -c 8 /dev/vda)"');
      ok(await k('vm', 'define', 'web1', '--cpus', '1', '--memory', '128M', '--disk', 'ceph/vm1', '--kernel', guest.kernel, '--initrd', guest.initrd, '--append', guest.append), 'vm define');
      ok(await k('vm', 'start', 'web1'), 'vm start');
      let console = '';
      for (let i = 0; i < 240 && !/READ BBBBBBBB/.test(console); i++) {
        console = (await k('vm', 'console', 'web1')).stdout;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.match(console, /READ BBBBBBBB/, 'the guest reads the base image through its clone');
      t = performance.now();
      ok(await k('snap', 'create', 'ceph/vm1@before'), 'snap create (live)');
      tc.diagnostic(`live snapshot: ${seconds(t)}`);
      assert.match((await k('snap', 'revert', 'ceph/vm1@before')).stderr, /running vm web1/, 'no revert under a running guest');
      ok(await k('vm', 'stop', 'web1'), 'vm stop');
      const reverted = await k('snap', 'revert', 'ceph/vm1@before');
      assert.equal(reverted.code, 0, reverted.stderr);
      assert.match(ok(await k('snap', 'list', 'ceph/vm1'), 'snap list').stdout, /before/);

      const refused = await k('vol', 'delete', 'ceph/base');
      assert.equal(refused.code, 5, refused.stderr);
      assert.match(refused.stderr, /ceph\/vm1, ceph\/vm10, ceph\/vm2.*--defer/);
      ok(await k('vol', 'delete', 'ceph/base', '--defer'), 'vol delete --defer');
      assert.doesNotMatch(ok(await k('vol', 'list', 'ceph'), 'vol list').stdout, /^base\b/m);

      // 1,000 images (made by another client: listed as foreign), listed.
      const names = Array.from({ length: 1000 }, (_, i) => `img${String(i).padStart(4, '0')}`);
      let next = 0;
      t = performance.now();
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (next < names.length) await run('rbd', ['--conf', '/dev/null', '-m', ceph.monitor, '--id', 'kvmpool', '--keyfile', ceph.keyFile, 'create', `vms/${names[next++]}`, '--size', '1G']);
      }));
      tc.diagnostic(`1,000 images made with rbd create, 8 at a time: ${seconds(t)}`);
      t = performance.now();
      const many = JSON.parse(ok(await kvmpool(['--home', path.join(dir, 'home'), '--json', 'vol', 'list', 'ceph']), 'vol list').stdout) as { name: string; managed: boolean }[];
      tc.diagnostic(`vol list of ${many.length} volumes: ${seconds(t)}`);
      assert.equal(many.length, 1010);
      assert.equal(many.filter((v) => !v.managed).length, 1000);
      t = performance.now();
      ok(await k('vol', 'list', 'ceph'), 'vol list');
      tc.diagnostic(`vol list again: ${seconds(t)}`);
      t = performance.now();
      ok(await k('pool', 'refresh', 'ceph'), 'pool refresh');
      tc.diagnostic(`pool refresh, nothing changed: ${seconds(t)}`);
    } finally {
      await k('vm', 'kill', 'web1');
      await guest?.cleanup();
      await ceph.stop();
    }
  }),
);
