import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { skipWhenMissing } from '../helpers/requirements.js';
import { sharedHostsMissing, startSharedHosts, type SharedHost } from './shared-hosts.js';

/**
 * A logical pool shared by two test hosts on one LUN (lvmlockd + sanlock): defined and started on
 * both, a volume active on one host at a time, IN_USE naming the host that has it, handed over when
 * its user there ends.
 */

const MiB = 1024 ** 2;
let cluster: Awaited<ReturnType<typeof startSharedHosts>> | undefined;
let a: SharedHost;
let b: SharedHost;
let missing: string | undefined;

before(async () => {
  missing = await sharedHostsMissing();
  if (missing) return;
  cluster = await startSharedHosts(['host-a', 'host-b'], 1024 * MiB);
  [a, b] = cluster.hosts as [SharedHost, SharedHost];
});

after(async () => {
  await cluster?.stop();
});

/** Runs the CLI on a host and fails with its output unless it succeeds. */
async function ok(h: SharedHost, ...args: string[]): Promise<string> {
  const r = await h.kvmpool(...args);
  assert.equal(r.code, 0, `${h.name}: kvmpool ${args.join(' ')}:\n${r.output}`);
  return r.output;
}

/** Runs the CLI on a host and returns its output; it must fail. */
async function refused(h: SharedHost, ...args: string[]): Promise<string> {
  const r = await h.kvmpool(...args);
  assert.notEqual(r.code, 0, `${h.name}: kvmpool ${args.join(' ')} succeeded:\n${r.output}`);
  return r.output;
}

const sha = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

test('a shared logical pool: built on one host, started on both, each volume active on one host at a time and handed over (test hosts)', { timeout: 900_000 }, async (t) => {
  if (skipWhenMissing(t, missing)) return;
  const dir = cluster!.dir;
  // Thin pools and thin volumes are refused, with LVM's reason.
  assert.match(await refused(a, 'pool', 'define', 'thin', '--type', 'logical', '--shared', '--source', '/dev/ubdb', '--thin-pool', '64M'), /one host at a time.*INVALID_ARGUMENT/s);

  await ok(a, 'pool', 'define', 'san', '--type', 'logical', '--shared', '--source', '/dev/ubdb', '--vg', 'vgsan');
  await ok(a, 'pool', 'build', 'san');
  await ok(a, 'pool', 'start', 'san');
  // The other host adopts the VG (no devices: nothing is made) and joins its lockspace.
  await ok(b, 'pool', 'define', 'san', '--type', 'logical', '--shared', '--vg', 'vgsan');
  await ok(b, 'pool', 'start', 'san');

  await ok(a, 'vol', 'create', 'san/vm1', '--size', '64M');
  assert.match(await refused(a, 'vol', 'create', 'san/t1', '--size', '8M', '--thin'), /one host at a time.*INVALID_ARGUMENT/s);
  // Made on a, seen on b; active on neither until used.
  const onB = JSON.parse(await ok(b, 'vol', 'info', 'san/vm1', '--json')) as { capacity: number; warnings?: string[] };
  assert.equal(onB.capacity, 64 * MiB);
  assert.equal(onB.warnings, undefined);
  assert.match(await ok(a, 'pool', 'info', 'san'), /running/);

  // Written on a, read on b (each activates it for the transfer and gives it up after).
  const data = path.join(dir, 'data.raw');
  await writeFile(data, Buffer.concat([randomBytes(4 * MiB), Buffer.alloc(56 * MiB), randomBytes(4 * MiB)]));
  await ok(a, 'vol', 'upload', 'san/vm1', data);
  const back = path.join(dir, 'back.raw');
  await ok(b, 'vol', 'download', 'san/vm1', back);
  assert.equal(await sha(back), await sha(data));

  // A VM on a has it: b is refused, naming a.
  await ok(a, 'vm', 'define', 'web', '--disk', 'san/vm1', '--cpus', '1', '--memory', '64M');
  await ok(a, 'vm', 'start', 'web');
  for (const args of [['vol', 'upload', 'san/vm1', data], ['vol', 'delete', 'san/vm1'], ['vol', 'resize', 'san/vm1', '--size', '72M']]) {
    assert.match(await refused(b, ...args), /active on host host-a.*IN_USE/s, args.join(' '));
  }
  await ok(b, 'vm', 'define', 'web', '--disk', 'san/vm1', '--cpus', '1', '--memory', '64M');
  assert.match(await refused(b, 'vm', 'start', 'web'), /active on host host-a.*IN_USE/s);

  // Once the VM on a has ended, b takes it; now a is refused, naming b.
  await ok(a, 'vm', 'kill', 'web');
  await ok(b, 'vm', 'start', 'web');
  assert.match(await refused(a, 'vm', 'start', 'web'), /active on host host-b.*IN_USE/s);
  await ok(b, 'vm', 'kill', 'web');
  // Free again: grown from a, removed from b.
  await ok(a, 'vol', 'resize', 'san/vm1', '--size', '72M');
  assert.equal((JSON.parse(await ok(b, 'vol', 'info', 'san/vm1', '--json')) as { capacity: number }).capacity, 72 * MiB);
  for (const h of [a, b]) await ok(h, 'vm', 'undefine', 'web');
  await ok(b, 'vol', 'delete', 'san/vm1');
  assert.deepEqual(JSON.parse(await ok(a, 'vol', 'list', 'san', '--json')), []);
  // Snapshots are not there yet in shared pools: refused with the reason.
  await ok(a, 'vol', 'create', 'san/vm2', '--size', '16M');
  assert.match(await refused(a, 'snap', 'create', 'san/vm2@s1'), /not there yet.*NOT_SUPPORTED/s);
  await ok(a, 'vol', 'delete', 'san/vm2');

  // The VG goes once every other host has left its lockspace.
  await ok(a, 'pool', 'stop', 'san');
  await ok(b, 'pool', 'stop', 'san');
  await ok(b, 'pool', 'undefine', 'san');
  await ok(a, 'pool', 'delete', 'san');
  const left = await a.host.sh('lvm pvs --reportformat json /dev/ubdb; echo; lvm vgs');
  assert.doesNotMatch(left.output, /vgsan/, left.output);
});
