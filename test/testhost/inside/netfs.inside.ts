import { after, before, test } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../../src/host/exec.js';
import { mountEntryAt } from '../../../src/host/mountinfo.js';
import { netfsDriver } from '../../../src/drivers/storage/netfs/netfs.js';
import type { PoolDefinition } from '../../../src/model/pool-types.js';
import type { NetfsSource } from '../../../src/drivers/storage/netfs/netfs-settings.js';
import { KvmpoolClient } from '../../../src/client/client.js';
import { KvmpoolError } from '../../../src/model/errors.js';
import { storageDataConformance, storageDriverConformance, type ConformanceFixture } from '../../conformance/storage-driver.js';
import { kvmpool, serve, type ServeProcess } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/tmp.js';
import { disks } from './disks.js';
import { bootOnVolume } from './guest-vm.js';
import { givenGuest, waitConsole } from '../../helpers/guest.js';
import { dropPackets, loadNetModules, nfsServer, sambaServer, slowLoopback } from './net-servers.js';

const PASSWORD = 'Secret-123';
let work = '';
let removeWork: () => Promise<void> = async () => {};
let nfs: Awaited<ReturnType<typeof nfsServer>>;
let smb: Awaited<ReturnType<typeof sambaServer>>;
const exported = () => path.join(work, 'export');
const shared = () => path.join(work, 'share');

before(async () => {
  ({ dir: work, cleanup: removeWork } = await tempDir());
  const [nfsDisk, smbDisk] = disks();
  await loadNetModules();
  nfs = await nfsServer(nfsDisk!, exported());
  smb = await sambaServer(smbDisk!, shared(), PASSWORD);
});

after(async () => {
  await smb?.close();
  await nfs?.close();
  await removeWork();
});

/** Removes what a test left on the server's side (lost+found and the guest directory stay). */
async function emptyServerDir(dir: string): Promise<void> {
  for (const e of await readdir(dir)) if (e !== 'lost+found' && e !== 'guest') await rm(path.join(dir, e), { recursive: true, force: true });
}

let pools = 0;
function fixture(source: NetfsSource, serverDir: () => string, password = false): ConformanceFixture {
  const cifs = source.protocol === 'cifs';
  return {
    driver: netfsDriver,
    async makePool() {
      const target = path.join(work, `mnt-${++pools}`);
      const secrets: Record<string, string> = {};
      if (password) {
        secrets['password'] = path.join(work, `secret-${pools}`);
        await writeFile(secrets['password'], PASSWORD, { mode: 0o600 });
      }
      const def = await netfsDriver.validate({ name: 'conf', type: 'netfs', target, autostart: false, source, secrets });
      return {
        def,
        cleanup: async () => {
          await emptyServerDir(serverDir());
          await rm(target, { recursive: true, force: true });
        },
      };
    },
    skip: {
      ...(cifs ? { 'cancel-prealloc': "Samba preallocates a whole file at once (the server's fallocate): there is no long preallocation to cancel" } : {}),
      // The service refuses to delete a pool while its store knows volumes; the driver does not look.
      'delete-refuses-files': "a netfs pool's delete removes its mount point only: the files on the server are the server's, and a server that went away must not keep a pool from being deleted",
    },
  };
}

const nfsFixture = (version: NetfsSource['nfsVersion']) => fixture({ host: '127.0.0.1', export: exported(), nfsVersion: version }, exported);
// The export path is known once the test host's work directory exists: fixtures are made lazily.
const lazy = (make: () => ConformanceFixture): ConformanceFixture => ({
  get driver() {
    return netfsDriver;
  },
  makePool: () => make().makePool(),
  get skip() {
    return make().skip;
  },
});

storageDriverConformance('netfs (NFS 4.2)', lazy(() => nfsFixture('4.2')));
storageDataConformance('netfs (NFS 4.2)', lazy(() => nfsFixture('4.2')));
storageDriverConformance('netfs (NFS 3)', lazy(() => nfsFixture('3')));
storageDriverConformance('netfs (CIFS, user and password)', lazy(() => fixture({ host: '127.0.0.1', protocol: 'cifs', share: 'vms', username: 'root', smbVersion: '3.1.1' }, shared, true)));
storageDataConformance('netfs (CIFS, user and password)', lazy(() => fixture({ host: '127.0.0.1', protocol: 'cifs', share: 'vms', username: 'root' }, shared, true)));

test('netfs: a CIFS guest mount, mounted nodev,nosuid,noexec', async () => {
  const made = await fixture({ host: '127.0.0.1', protocol: 'cifs', share: 'guest' }, () => path.join(shared(), 'guest')).makePool();
  const def = made.def as PoolDefinition<NetfsSource>;
  const cleanup = made.cleanup;
  try {
    await netfsDriver.build(def, ctx());
    await netfsDriver.start(def, ctx());
    const m = await mountEntryAt(def.target);
    assert.ok(m, 'mounted');
    for (const o of ['nodev', 'nosuid', 'noexec']) assert.ok(m.options.includes(o), `${o} in ${m.options.join(',')}`);
    assert.equal((await netfsDriver.status(def)).state, 'running');
  } finally {
    await netfsDriver.stop(def, ctx());
    await cleanup();
  }
});

test('netfs: bad servers, exports, shares and passwords are clear errors and leave no mount', async () => {
  const cases: [string, NetfsSource, string | undefined, string][] = [
    ['no such export', { host: '127.0.0.1', export: '/no/such/export' }, undefined, 'NOT_FOUND|AUTH_FAILED'],
    // Port 9 of the test host's loopback: nothing listens there.
    ['no server there', { host: '127.0.0.1', export: exported(), nfsVersion: '4.2', mountOptions: ['port=9'] }, undefined, 'UNAVAILABLE'],
    ['a wrong password', { host: '127.0.0.1', protocol: 'cifs', share: 'vms', username: 'root' }, 'wrong-password', 'AUTH_FAILED'],
    ['no such share', { host: '127.0.0.1', protocol: 'cifs', share: 'nothing', username: 'root' }, PASSWORD, 'NOT_FOUND'],
  ];
  for (const [what, source, password, codes] of cases) {
    const target = path.join(work, `bad-${++pools}`);
    await mkdir(target);
    const secrets: Record<string, string> = {};
    if (password) {
      secrets['password'] = path.join(work, `bad-secret-${pools}`);
      await writeFile(secrets['password'], password, { mode: 0o600 });
    }
    const def = await netfsDriver.validate({ name: 'bad', type: 'netfs', target, autostart: false, source, secrets });
    const started = performance.now();
    const outcome = await netfsDriver.start(def, ctx()).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (outcome === undefined) await netfsDriver.stop(def, ctx());
    assert.ok(outcome instanceof KvmpoolError && new RegExp(`^(${codes})$`).test(outcome.code), `${what}: ${String(outcome)}`);
    console.log(`# figure: ${what}: refused in ${((performance.now() - started) / 1000).toFixed(2)} s`);
    assert.equal(await mountEntryAt(target), undefined, `${what}: nothing mounted`);
  }
  // Input that never reaches a mount.
  for (const source of [
    { host: '127.0.0.1;reboot', export: '/x' },
    { host: '127.0.0.1', export: 'relative' },
    { host: '127.0.0.1', export: '/x', mountOptions: ['exec'] },
    { host: '127.0.0.1', export: '/x', mountOptions: ['a,b'] },
    { host: '127.0.0.1', protocol: 'cifs' as const, share: 'a/b' },
    { host: '127.0.0.1', protocol: 'cifs' as const, share: 'vms', username: 'a,b' },
    { host: '127.0.0.1', export: '/x', share: 'vms' },
  ]) {
    await assert.rejects(netfsDriver.validate({ name: 'bad', type: 'netfs', target: path.join(work, 'never'), autostart: false, source, secrets: {} }), (e: unknown) => e instanceof KvmpoolError && e.code === 'INVALID_ARGUMENT', JSON.stringify(source));
  }
});

/** The daemon's pools of the dead-server tests: `local` (a dir, running) and `nas` (the NFS export, built, not started). */
async function localAndNas(home: string): Promise<{ client: KvmpoolClient; local: string }> {
  const client = new KvmpoolClient({ socketPath: path.join(home, 'kvmpool.sock') });
  const local = path.join(home, 'local');
  await client.call('definePool', { body: { name: 'local', type: 'dir', target: local } });
  await client.call('buildPool', { params: { pool: 'local' } });
  await client.call('startPool', { params: { pool: 'local' } });
  await client.call('definePool', { body: { name: 'nas', type: 'netfs', target: path.join(home, 'nas'), source: { host: '127.0.0.1', export: exported() } } });
  await client.call('buildPool', { params: { pool: 'nas' } });
  return { client, local };
}

test('netfs: a server that goes away never holds the daemon; the pool is degraded, then recovers by itself', async () => {
  const { dir: home, cleanup } = await tempDir();
  let daemon: ServeProcess | undefined;
  const holders: ChildProcess[] = [];
  try {
    daemon = await serve(home);
    const { client } = await localAndNas(home);
    let t = performance.now();
    await client.call('startPool', { params: { pool: 'nas' } });
    console.log(`# figure: netfs pool start (NFS mount): ${((performance.now() - t) / 1000).toFixed(2)} s`);
    await client.call('createVolume', { params: { pool: 'nas' }, body: { name: 'a.qcow2', capacity: '64M', format: 'qcow2' } });
    await client.call('createVolume', { params: { pool: 'local' }, body: { name: 'l.img', capacity: '16M', format: 'raw' } });
    await client.call('createVolume', { params: { pool: 'local' }, body: { name: 'l2.img', capacity: '16M', format: 'raw' } });
    // A process (a VM, say) holds a volume of the share open when its server goes away.
    const holder = spawn(process.execPath, ['-e', `require('fs').openSync(${JSON.stringify(path.join(home, 'nas', 'a.qcow2'))}, 'r'); console.log('open'); setTimeout(() => {}, 600000)`], { stdio: ['ignore', 'pipe', 'ignore'] });
    holders.push(holder);
    await new Promise((r) => holder.stdout.once('data', r));

    await nfs.stop();
    const gone = performance.now();
    // Every answer comes within a few seconds, and the pool says why it cannot be used.
    const timedCall = async <T>(what: string, fn: () => Promise<T>, limitMs: number): Promise<T | KvmpoolError> => {
      const s = performance.now();
      const out = await fn().catch((e: unknown) => (e instanceof KvmpoolError ? e : Promise.reject(e)));
      const ms = performance.now() - s;
      assert.ok(ms < limitMs, `${what} took ${ms.toFixed(0)} ms`);
      return out;
    };
    let degradedAfter = -1;
    while (degradedAfter < 0 && performance.now() - gone < 20_000) {
      const info = await timedCall('pool info of the dead pool', () => client.call('getPool', { params: { pool: 'nas' } }), 8000);
      assert.ok(!(info instanceof KvmpoolError), String(info));
      if (info.state === 'degraded') {
        assert.match(info.reason ?? '', /does not answer/);
        degradedAfter = (performance.now() - gone) / 1000;
      }
      await timedCall('listing of another pool', () => client.call('listVolumes', { params: { pool: 'local' } }), 2000);
      await timedCall('all pools', () => client.call('listPools', {}), 8000);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(degradedAfter >= 0 && degradedAfter <= 15, `degraded after ${degradedAfter} s`);
    console.log(`# figure: netfs pool degraded ${degradedAfter.toFixed(2)} s after its server went away`);
    const listing = await timedCall('listing of the dead pool', () => client.call('listVolumes', { params: { pool: 'nas' } }), 1000);
    assert.ok(listing instanceof KvmpoolError && listing.code === 'POOL_DEGRADED', String(listing));
    const copy = await timedCall('a copy into the dead pool', () => client.call('cloneVolume', { params: { pool: 'local', volume: 'l.img' }, body: { name: 'c.img', pool: 'nas' } }), 1000);
    assert.ok(copy instanceof KvmpoolError && copy.code === 'POOL_DEGRADED', String(copy));
    // Whether a volume is in use is read from every process's open files: the holder's, on the dead share, too.
    await timedCall('deleting a volume of another pool', () => client.call('deleteVolume', { params: { pool: 'local', volume: 'l2.img' } }), 3000);

    // The daemon killed and started again while the server is away: it serves, and the pool says why it cannot be used.
    daemon.child.kill('SIGKILL');
    await new Promise((r) => daemon!.child.once('exit', r));
    t = performance.now();
    daemon = await serve(home);
    console.log(`# figure: daemon restart with the server away: serving after ${((performance.now() - t) / 1000).toFixed(2)} s`);
    const after = await timedCall('pool info after the restart', () => client.call('getPool', { params: { pool: 'nas' } }), 8000);
    assert.ok(!(after instanceof KvmpoolError) && after.state === 'degraded', JSON.stringify(after));
    // The holder goes (its close may wait for the server).
    const holderGone = new Promise((r) => holder.once('exit', r));
    holder.kill('SIGKILL');

    await nfs.start();
    await holderGone;
    const back = performance.now();
    for (;;) {
      const info = await client.call('getPool', { params: { pool: 'nas' } });
      if (info.state === 'running') break;
      assert.ok(performance.now() - back < 60_000, `still ${info.state} 60 s after the server came back: ${info.reason}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(`# figure: netfs pool running again ${((performance.now() - back) / 1000).toFixed(2)} s after its server came back`);
    const names = (await client.call('listVolumes', { params: { pool: 'nas' } })).map((v) => v.name);
    assert.deepEqual(names, ['a.qcow2']);
    t = performance.now();
    await client.call('stopPool', { params: { pool: 'nas' } });
    console.log(`# figure: netfs pool stop (unmount): ${((performance.now() - t) / 1000).toFixed(2)} s`);
    assert.equal(await mountEntryAt(path.join(home, 'nas')), undefined, 'unmounted');

    // Stopped while its server is away: the mount is detached, not waited on.
    await client.call('startPool', { params: { pool: 'nas' } });
    await nfs.stop();
    t = performance.now();
    await client.call('stopPool', { params: { pool: 'nas' } });
    console.log(`# figure: netfs pool stop with its server away: ${((performance.now() - t) / 1000).toFixed(2)} s`);
    assert.equal(await mountEntryAt(path.join(home, 'nas')), undefined, 'detached');
  } finally {
    for (const h of holders) h.kill('SIGKILL');
    await nfs.start().catch(() => undefined);
    await daemon?.stop();
    for (const m of ['nas']) await run('umount', ['-f', '-l', path.join(home, m)]).catch(() => undefined);
    await cleanup();
    await emptyServerDir(exported());
  }
});

test("netfs: the server's packets dropped while a copy runs into the pool and an idle VM has its disk there: the daemon answers, the pool is degraded, then all goes on", async () => {
  const { dir: home, cleanup } = await tempDir();
  let daemon: ServeProcess | undefined;
  let letThrough: (() => Promise<void>) | undefined;
  let unslow: (() => Promise<void>) | undefined;
  try {
    daemon = await serve(home);
    const { client, local } = await localAndNas(home);
    await client.call('createVolume', { params: { pool: 'local' }, body: { name: 'big.img', capacity: '256M', format: 'raw' } });
    await run('qemu-io', ['-f', 'raw', '-c', 'write -P 5 0 256M', path.join(local, 'big.img')], { timeoutMs: 120_000 });
    await client.call('startPool', { params: { pool: 'nas' } });
    await client.call('createVolume', { params: { pool: 'nas' }, body: { name: 'idle.qcow2', capacity: '32M', format: 'qcow2' } });

    // The idle VM: it wrote its disk, now it sleeps.
    const guest = givenGuest();
    assert.ok(guest, 'the test host was given no guest (KVMPOOL_TEST_GUEST)');
    await client.call('defineVm', { body: { name: 'idle', cpus: 1, memory: '128M', kernel: guest.kernel, initrd: guest.initrd, append: guest.append, disks: [{ pool: 'nas', volume: 'idle.qcow2' }] } });
    await client.call('startVm', { params: { vm: 'idle' } });
    await waitConsole(client, 'idle', /WROTE/, 180_000);

    // The copy, under way (over a link slowed to 10 MB/s, so that it lasts), when the packets stop.
    unslow = await slowLoopback(80);
    const { job } = await client.call('cloneVolume', { params: { pool: 'local', volume: 'big.img' }, body: { name: 'big.img', pool: 'nas' } });
    for (let i = 0; i < 300 && (await client.call('getJob', { params: { id: job.id } })).progress.done === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await client.call('getPool', { params: { pool: 'nas' } })).state, 'running', 'the slowed link still carries the pool');
    letThrough = await dropPackets(2049);
    const gone = performance.now();
    const during = await client.call('getJob', { params: { id: job.id } });
    assert.ok(during.state === 'running' && during.progress.done > 0, `the copy was under way when the packets stopped: ${JSON.stringify(during)}`);
    const timed = async <T>(what: string, fn: () => Promise<T>, limitMs: number): Promise<T> => {
      const s = performance.now();
      const out = await fn();
      assert.ok(performance.now() - s < limitMs, `${what} took ${(performance.now() - s).toFixed(0)} ms`);
      return out;
    };
    let degradedAfter = -1;
    while (degradedAfter < 0 && performance.now() - gone < 20_000) {
      const info = await timed('pool info', () => client.call('getPool', { params: { pool: 'nas' } }), 8000);
      if (info.state === 'degraded') {
        assert.match(info.reason ?? '', /does not answer/);
        degradedAfter = (performance.now() - gone) / 1000;
      }
      await timed('the VM', () => client.call('getVm', { params: { vm: 'idle' } }), 2000);
      await timed('the copy job', () => client.call('getJob', { params: { id: job.id } }), 2000);
      await timed('a listing of another pool', () => client.call('listVolumes', { params: { pool: 'local' } }), 2000);
      await new Promise((r) => setTimeout(r, 250));
    }
    console.log(`# figure: netfs pool degraded ${degradedAfter.toFixed(2)} s after its server's packets were dropped (a copy in flight, an idle VM)`);
    assert.ok(degradedAfter >= 0 && degradedAfter <= 15, `degraded after ${degradedAfter} s`);
    assert.equal((await client.call('getVm', { params: { vm: 'idle' } })).state, 'running');

    await letThrough();
    letThrough = undefined;
    await unslow();
    const back = performance.now();
    const end = await Promise.race([client.waitJob(job.id), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the copy did not end 180 s after the packets went through')), 180_000))]);
    console.log(`# figure: the copy ended (${end.state}) ${((performance.now() - back) / 1000).toFixed(2)} s after the packets went through again`);
    assert.equal(end.state, 'succeeded', JSON.stringify(end.error));
    for (;;) {
      if ((await client.call('getPool', { params: { pool: 'nas' } })).state === 'running') break;
      assert.ok(performance.now() - back < 120_000, 'the pool is still degraded 120 s after its server came back');
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal((await client.call('getVm', { params: { vm: 'idle' } })).state, 'running', 'the idle VM lived through it');
    const { stdout } = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', path.join(local, 'big.img'), path.join(home, 'nas', 'big.img')], { timeoutMs: 120_000 });
    assert.match(stdout, /identical/);
    await client.call('killVm', { params: { vm: 'idle' } });
    await client.call('undefineVm', { params: { vm: 'idle' } });
    await client.call('stopPool', { params: { pool: 'nas' } });
  } finally {
    await letThrough?.();
    await unslow?.();
    if (daemon) await new KvmpoolClient({ socketPath: path.join(home, 'kvmpool.sock') }).call('killVm', { params: { vm: 'idle' } }).catch(() => undefined);
    await daemon?.stop();
    await run('umount', ['-f', '-l', path.join(home, 'nas')]).catch(() => undefined);
    await cleanup();
    await emptyServerDir(exported());
  }
});

test('netfs through the CLI, as a new user: find the NFS export and the CIFS share, define both, copy a volume onto NFS', async () => {
  const { dir: home, cleanup } = await tempDir();
  let daemon: ServeProcess | undefined;
  const cli = async (...args: string[]) => {
    const r = await kvmpool(['--home', home, ...args]);
    assert.equal(r.code, 0, `kvmpool ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  try {
    daemon = await serve(home);
    const passwordFile = path.join(home, 'smb-password');
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    let t = performance.now();
    const exportsFound = JSON.parse(await cli('--json', 'pool', 'sources', '--type', 'netfs', '--host', '127.0.0.1')) as { source: Record<string, string> }[];
    console.log(`# figure: pool sources (NFS exports): ${((performance.now() - t) / 1000).toFixed(2)} s`);
    assert.deepEqual(exportsFound.map((f) => f.source), [{ host: '127.0.0.1', protocol: 'nfs', export: exported() }]);
    t = performance.now();
    const table = await cli('pool', 'sources', '--type', 'netfs', '--protocol', 'cifs', '--host', '127.0.0.1', '--username', 'root', '--secret-file', passwordFile);
    console.log(`# figure: pool sources (CIFS shares): ${((performance.now() - t) / 1000).toFixed(2)} s`);
    assert.match(table, /\/\/127\.0\.0\.1\/vms .*--share vms --username root/);
    // A wrong password is refused as such.
    await writeFile(passwordFile, 'wrong\n');
    const refused = await kvmpool(['--home', home, 'pool', 'sources', '--type', 'netfs', '--protocol', 'cifs', '--host', '127.0.0.1', '--username', 'root', '--secret-file', passwordFile]);
    assert.equal(refused.code, 16, refused.stderr);
    assert.match(refused.stderr, /refused the credentials/);
    await writeFile(passwordFile, `${PASSWORD}\n`);

    await cli('pool', 'define', 'local', '--type', 'dir', '--target', path.join(home, 'local'));
    await cli('pool', 'build', 'local');
    await cli('pool', 'start', 'local');
    await cli('pool', 'define', 'nas', '--type', 'netfs', '--host', '127.0.0.1', '--export', exported(), '--nfs-version', '4.2', '--target', path.join(home, 'nas'));
    await cli('pool', 'define', 'share', '--type', 'netfs', '--protocol', 'cifs', '--host', '127.0.0.1', '--share', 'vms', '--username', 'root', '--secret-file', passwordFile, '--target', path.join(home, 'share'));
    const shown = JSON.parse(await cli('--json', 'pool', 'info', 'share')) as Record<string, unknown>;
    assert.ok(!JSON.stringify(shown).includes(PASSWORD), 'the password is never shown');
    assert.deepEqual(shown['secrets'], ['password']);
    for (const p of ['nas', 'share']) {
      await cli('pool', 'build', p);
      await cli('pool', 'start', p);
    }
    await cli('vol', 'create', 'local/disk.img', '--size', '32M');
    await run('qemu-io', ['-f', 'raw', '-c', 'write -P 7 0 1M', path.join(home, 'local', 'disk.img')]);
    await cli('vol', 'clone', 'local/disk.img', 'disk.qcow2', '--to', 'nas', '--format', 'qcow2');
    await cli('vol', 'clone', 'nas/disk.qcow2', 'disk.img', '--to', 'share', '--format', 'raw');
    const { stdout } = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', path.join(home, 'local', 'disk.img'), path.join(shared(), 'disk.img')]);
    assert.match(stdout, /identical/);
    assert.match(await cli('pool', 'list'), /nas\s+netfs\s+running/);
    // A VM on the qcow2 on NFS: the guest reads the copied bytes and writes its own.
    const booted = await bootOnVolume(new KvmpoolClient({ socketPath: path.join(home, 'kvmpool.sock') }), 'nfsvm', { pool: 'nas', volume: 'disk.qcow2' });
    console.log(`# figure: a VM (TCG, in the test host) on a qcow2 on NFS read and wrote its disk ${booted.seconds.toFixed(2)} s after start`);
    assert.equal(booted.read, '\x07'.repeat(16));
    await run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', path.join(home, 'nas', 'disk.qcow2'), path.join(home, 'written.img')]);
    assert.equal((await readFile(path.join(home, 'written.img'))).subarray(4096, 4112).toString(), 'GUEST-WROTE-THIS');
    for (const p of ['nas', 'share']) {
      await cli('vol', 'delete', `${p}/${p === 'nas' ? 'disk.qcow2' : 'disk.img'}`);
      await cli('pool', 'stop', p);
      assert.equal(await mountEntryAt(path.join(home, p)), undefined, `${p} unmounted`);
      await cli('pool', 'delete', p);
      await cli('pool', 'undefine', p);
    }
  } finally {
    await daemon?.stop();
    for (const m of ['nas', 'share']) await run('umount', ['-f', '-l', path.join(home, m)]).catch(() => undefined);
    await cleanup();
    await emptyServerDir(exported());
    await emptyServerDir(shared());
  }
});

function ctx() {
  return { signal: new AbortController().signal, log: () => {}, progress: () => {} };
}
