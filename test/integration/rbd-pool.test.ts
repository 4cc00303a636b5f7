import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { run } from '../../src/host/exec.js';
import { removeImageData } from '../../src/host/rbd-scan.js';
import { sourceArgs } from '../../src/host/qemu-img.js';
import type { VolumeBody } from '../../src/api/schemas.js';
import { readFile, rm, stat } from 'node:fs/promises';
import { observedElsewhere } from '../../src/model/ignore.js';
import { cephForFile } from '../helpers/ceph.js';
import { buildGuest, waitConsole, type Guest } from '../helpers/guest.js';
import { validateDomain } from '../helpers/libvirt-xml.js';
import { kvmpool } from '../helpers/cli.js';
import { rawCall, withDaemon, type TestDaemon } from '../helpers/daemon.js';
import { listedUntil } from '../helpers/listing.js';

/**
 * rbd pools through the daemon, on one throw-away Ceph cluster for the file: the key's handling, the
 * cluster's refusals as codes, layered clones and their parents (deferred delete, flatten), snapshots,
 * an image whose header is gone, and a Ceph pool's quota. Each test works in a namespace of its own.
 */
const ceph = cephForFile(['vms', 'small']);
const MiB = 1024 * 1024;

const namespace = () => `ns-${randomBytes(4).toString('hex')}`;

/** Defines, builds and starts an rbd pool `name` in a fresh namespace of `rbdPool`; returns the namespace. */
async function startRbdPool(t: TestDaemon, name: string, rbdPool = 'vms'): Promise<string> {
  const ns = namespace();
  await rawCall(t.client, 'definePool', { body: { name, type: 'rbd', source: { monitors: [ceph.cluster.monitor], rbdPool, namespace: ns, user: 'kvmpool', createPool: true, key: ceph.key } } });
  await t.client.api.buildPool({ params: { pool: name } });
  await t.client.api.startPool({ params: { pool: name } });
  return ns;
}

/** qemu-io commands on an image, through qemu's rbd driver with the pool's user; returns what qemu-io printed. */
async function io(ns: string, image: string, commands: string[]): Promise<string> {
  const { options, image: spec } = sourceArgs({ access: { kind: 'rbd', pool: 'vms', namespace: ns, image, monitors: [ceph.cluster.monitor], user: 'kvmpool', key: { file: ceph.keyFile } }, format: 'raw' });
  return (await run('qemu-io', [...options, ...commands.flatMap((c) => ['-c', c]), spec])).stdout;
}

/** Waits for a job and returns its result; a job that failed throws its error. */
async function jobResult<T>(t: TestDaemon, started: Promise<{ job: { id: string } }>): Promise<T> {
  const j = await t.client.waitJob((await started).job.id);
  if (j.state !== 'succeeded') throw Object.assign(new Error(j.error?.message ?? j.state), { code: j.error?.code });
  return j.result as T;
}

test('an rbd pool is defined with a key file through the CLI; the key appears in no answer and no log (tools get its file); pool sources finds what the user may use', async () => {
  await withDaemon(async (t) => {
    const cli = (...args: string[]) => kvmpool(['--home', t.home, ...args]);
    const ns = namespace();
    const defined = await cli('pool', 'define', 'ceph', '--type', 'rbd', '--monitors', ceph.cluster.monitor, '--rbd-pool', 'vms', '--namespace', ns, '--user', 'kvmpool', '--secret-file', ceph.keyFile, '--create-pool');
    assert.equal(defined.code, 0, defined.stderr);
    for (const verb of ['build', 'start']) assert.equal((await cli('pool', verb, 'ceph')).code, 0);
    const created = await cli('vol', 'create', 'ceph/vm1', '--size', '64M', '--object-size', '1M');
    assert.equal(created.code, 0, created.stderr);
    const info = await cli('--json', 'pool', 'info', 'ceph');
    const pool = JSON.parse(info.stdout) as { state: string; capacity: number; secrets: string[]; source: Record<string, unknown> };
    assert.equal(pool.state, 'running');
    assert.ok(pool.capacity > 0);
    assert.deepEqual(pool.secrets, ['key']);
    assert.equal(pool.source['key'], undefined);
    const vol = JSON.parse((await cli('--json', 'vol', 'info', 'ceph/vm1')).stdout) as VolumeBody;
    assert.deepEqual([vol.format, vol.capacity, vol.kind, vol.managed, vol.objectSize], ['raw', 64 * MiB, 'image', true, MiB]);
    assert.deepEqual(vol.storageFeatures?.sort(), ['deep-flatten', 'exclusive-lock', 'fast-diff', 'layering', 'object-map']);
    assert.match((await cli('vol', 'info', 'ceph/vm1')).stdout, /storage features: +deep-flatten, exclusive-lock, fast-diff, layering, object-map/);
    const everything = [info.stdout, JSON.stringify(await t.client.api.listPools()), JSON.stringify(await t.client.api.listVolumes({ params: { pool: 'ceph' } })), t.logs.join('\n')].join('\n');
    assert.ok(!everything.includes(ceph.key), 'the ceph.key was shown');
    // qemu and rbd get the key's file, never the key.
    const access = JSON.stringify(await t.client.api.volumeAttachInfo({ params: { pool: 'ceph', volume: 'vm1' }, query: {} }));
    assert.ok(!access.includes(ceph.key));
    const { stdout: image } = await run('rbd', ['-c', ceph.cluster.conf, 'image-meta', 'get', `vms/${ns}/vm1`, 'kvmpool.pool']);
    assert.equal(image.trim(), 'ceph', 'the images kvmpool makes carry its mark');

    // What the user may use, found with the same key file: RBD pools and their namespaces, not a pool its caps leave out.
    await ceph.cluster.makePool('private');
    const found = await cli('--json', 'pool', 'sources', '--type', 'rbd', '--monitors', ceph.cluster.monitor, '--user', 'kvmpool', '--secret-file', ceph.keyFile);
    assert.equal(found.code, 0, found.stderr);
    const sources = (JSON.parse(found.stdout) as { source: { rbdPool: string; namespace?: string } }[]).map((f) => `${f.source.rbdPool}${f.source.namespace ? `/${f.source.namespace}` : ''}`);
    assert.ok(sources.includes('vms') && sources.includes(`vms/${ns}`) && sources.includes('small'), sources.join(' '));
    assert.ok(!sources.includes('private'), sources.join(' '));
    assert.ok(!found.stdout.includes(ceph.key));
  });
});

test('the cluster refusing is said by code: a wrong key, no monitor, no such Ceph pool or namespace; the daemon answers meanwhile', async () => {
  await withDaemon(async (t) => {
    const wrong = (await run('ceph-authtool', ['--gen-print-key'])).stdout.trim();
    const source = { monitors: [ceph.cluster.monitor], rbdPool: 'vms', user: 'kvmpool' };
    await rawCall(t.client, 'definePool', { body: { name: 'wrongkey', type: 'rbd', source: { ...source, key: wrong } } });
    await assert.rejects(t.client.api.startPool({ params: { pool: 'wrongkey' } }), { code: 'AUTH_FAILED' });
    await rawCall(t.client, 'definePool', { body: { name: 'nomon', type: 'rbd', source: { ...source, monitors: ['127.0.0.1:9'], key: ceph.key } } });
    const started = performance.now();
    const stuck = t.client.api.startPool({ params: { pool: 'nomon' } });
    const asked = performance.now();
    await t.client.api.listPools();
    assert.ok(performance.now() - asked < 2000, 'the daemon answers while a pool waits for its cluster');
    await assert.rejects(stuck, { code: 'UNAVAILABLE' });
    assert.ok(performance.now() - started < 20_000, `gave up after ${Math.round(performance.now() - started)} ms`);
    await rawCall(t.client, 'definePool', { body: { name: 'nopool', type: 'rbd', source: { ...source, rbdPool: 'nosuchpool', key: ceph.key } } });
    await assert.rejects(t.client.api.buildPool({ params: { pool: 'nopool' } }), { code: 'NOT_FOUND', message: /nosuchpool.*--create-pool/ });
    await assert.rejects(t.client.api.startPool({ params: { pool: 'nopool' } }), { code: 'NOT_FOUND' });
    await rawCall(t.client, 'definePool', { body: { name: 'nons', type: 'rbd', source: { ...source, namespace: 'nosuchns', key: ceph.key } } });
    await assert.rejects(t.client.api.startPool({ params: { pool: 'nons' } }), { code: 'NOT_FOUND', message: /vms\/nosuchns/ });
    for (const pool of ['wrongkey', 'nomon', 'nopool', 'nons']) assert.equal((await t.client.api.getPool({ params: { pool } })).state, 'inactive');
  });
});

test('layered clones read through to their parent; the parent is deleted only with --defer and leaves the trash after its last clone', async (tc) => {
  await withDaemon(async (t) => {
    const ns = await startRbdPool(t, 'ceph');
    await t.client.api.createVolume({ params: { pool: 'ceph' }, body: { name: 'base', capacity: '16M', format: 'raw' } });
    await io(ns, 'base', ['write -P 7 0 4M']);
    await t.client.api.createSnapshot({ params: { pool: 'ceph', volume: 'base' }, body: { name: 'keep' } });
    const started = performance.now();
    const clone = await jobResult<{ volume: VolumeBody; method: string }>(t, t.client.api.cloneVolume({ params: { pool: 'ceph', volume: 'base' }, body: { name: 'vm1', method: 'layered' } }));
    tc.diagnostic(`layered clone: ${Math.round(performance.now() - started)} ms`);
    assert.deepEqual([clone.method, clone.volume.kind, clone.volume.parent, clone.volume.backingVolume], ['layered', 'clone', `vms/${ns}/base`, 'base']);
    await jobResult(t, t.client.api.cloneVolume({ params: { pool: 'ceph', volume: 'base' }, body: { name: 'vm2', method: 'auto' } }));
    await io(ns, 'vm1', ['read -P 7 0 4M']);
    await io(ns, 'vm2', ['write -P 8 0 1M']);
    await io(ns, 'base', ['read -P 7 0 1M']);
    await assert.rejects(t.client.api.deleteVolume({ params: { pool: 'ceph', volume: 'base' } }), { code: 'IN_USE', message: /ceph\/vm1, ceph\/vm2.*--defer/ });

    // Its own snapshots would keep it in the trash: they go with it, when forced. Clones read a snapshot
    // of their own: the parent may change meanwhile.
    await io(ns, 'base', ['write -P 9 0 4M']);
    await io(ns, 'vm1', ['read -P 7 0 4M']);
    await assert.rejects(t.client.api.deleteVolume({ params: { pool: 'ceph', volume: 'base' }, query: { defer: true } }), { code: 'IN_USE', message: /snapshot.*--force/ });
    await t.client.api.deleteVolume({ params: { pool: 'ceph', volume: 'base' }, query: { defer: true, force: true } });
    const left = await t.client.api.listVolumes({ params: { pool: 'ceph' } });
    assert.deepEqual(left.map((v) => v.name), ['vm1', 'vm2']);
    assert.match(left[0]!.parent!, /base \(deleted, kept for its clones\)/);
    assert.ok(left[0]!.features.includes('delete') && left[0]!.features.includes('flatten'));
    await io(ns, 'vm1', ['read -P 7 0 4M']);
    // A new volume may take the name: the deferred one is out of the way.
    await t.client.api.createVolume({ params: { pool: 'ceph' }, body: { name: 'base', capacity: '1M', format: 'raw' } });
    const trash = async () => JSON.parse(await ceph.cluster.admin('rbd', ['trash', 'ls', '--pool', 'vms', '--namespace', ns, '--format', 'json'])) as { name: string }[];
    assert.deepEqual((await trash()).map((x) => x.name), ['base.kvmpool-deferred']);

    // flatten: vm1 no longer needs base; vm2 still does, so base stays in the trash.
    const flat = await jobResult<{ volume: VolumeBody }>(t, t.client.api.flattenVolume({ params: { pool: 'ceph', volume: 'vm1' } }));
    assert.deepEqual([flat.volume.kind, flat.volume.parent], ['image', undefined]);
    await io(ns, 'vm1', ['read -P 7 0 4M']);
    await t.daemon.pools.maintain();
    assert.equal((await trash()).length, 1);
    await assert.rejects(t.client.api.flattenVolume({ params: { pool: 'ceph', volume: 'vm1' } }), { code: 'NOT_SUPPORTED' });
    await t.client.api.deleteVolume({ params: { pool: 'ceph', volume: 'vm2' } });
    await t.daemon.pools.maintain();
    assert.deepEqual(await trash(), []);
    await io(ns, 'vm1', ['read -P 7 0 4M']);
  });
});

test('snapshots: taken, listed with time and size, reverted as a job; a volume with snapshots is deleted only with --force', async () => {
  await withDaemon(async (t) => {
    const ns = await startRbdPool(t, 'ceph');
    await t.client.api.createVolume({ params: { pool: 'ceph' }, body: { name: 'vm', capacity: '8M', format: 'raw' } });
    await io(ns, 'vm', ['write -P 1 0 1M']);
    const before = Date.now();
    await t.client.api.createSnapshot({ params: { pool: 'ceph', volume: 'vm' }, body: { name: 's1' } });
    const [s1] = await t.client.api.listSnapshots({ params: { pool: 'ceph', volume: 'vm' } });
    assert.deepEqual([s1!.name, s1!.kind, s1!.capacity], ['s1', 'rbd', 8 * MiB]);
    assert.ok(Math.abs(Date.parse(s1!.created) - before) < 60_000, s1!.created);
    await io(ns, 'vm', ['write -P 2 0 1M']);
    await jobResult(t, t.client.api.revertSnapshot({ params: { pool: 'ceph', volume: 'vm', snapshot: 's1' } }));
    await io(ns, 'vm', ['read -P 1 0 1M']);
    assert.equal((await t.client.api.getVolume({ params: { pool: 'ceph', volume: 'vm' } })).snapshots, 1);
    await assert.rejects(t.client.api.deleteVolume({ params: { pool: 'ceph', volume: 'vm' } }), { code: 'IN_USE', message: /snapshot.*--force/ });
    await t.client.api.deleteVolume({ params: { pool: 'ceph', volume: 'vm' }, query: { force: true } });
    assert.deepEqual(await t.client.api.listVolumes({ params: { pool: 'ceph' } }), []);
  });
});

test('an image whose header is gone is listed as unreadable, breaks nothing else, and is deleted with what is left of its data', async () => {
  await withDaemon(async (t) => {
    const ns = await startRbdPool(t, 'ceph');
    for (const name of ['a', 'b']) await t.client.api.createVolume({ params: { pool: 'ceph' }, body: { name, capacity: '12M', format: 'raw' } });
    await io(ns, 'a', ['write -P 1 0 64k', 'write -P 2 8M 64k']);
    const { id } = JSON.parse(await ceph.cluster.admin('rbd', ['info', `vms/${ns}/a`, '--format', 'json'])) as { id: string };
    const objectsOf = async (image: string) => (await ceph.cluster.admin('rados', ['-p', 'vms', '--namespace', ns, 'ls'])).split('\n').filter((o) => o.includes(image));
    assert.equal((await objectsOf(`rbd_data.${id}.`)).length, 2);
    await ceph.cluster.admin('rados', ['-p', 'vms', '--namespace', ns, 'rm', `rbd_header.${id}`]);
    await t.client.api.refreshPool({ params: { pool: 'ceph' } });
    const listed = await t.client.api.listVolumes({ params: { pool: 'ceph' } });
    assert.deepEqual(listed.map((v) => [v.name, v.unreadable === true]), [['a', true], ['b', false]]);
    assert.deepEqual(listed[0]!.features.sort(), ['delete', 'rename']);
    assert.equal((await t.client.api.getVolume({ params: { pool: 'ceph', volume: 'a' } })).unreadable, true);
    await jobResult(t, t.client.api.cloneVolume({ params: { pool: 'ceph', volume: 'b' }, body: { name: 'c', method: 'layered' } }));
    await t.client.api.deleteVolume({ params: { pool: 'ceph', volume: 'a' } });
    assert.deepEqual((await t.client.api.listVolumes({ params: { pool: 'ceph' } })).map((v) => v.name), ['b', 'c']);
    assert.deepEqual(await objectsOf(id), [], 'what was left of the image went with it');
    // The objects of an image that still exists are never removed by name.
    await io(ns, 'b', ['write -P 3 0 64k']);
    const b = (JSON.parse(await ceph.cluster.admin('rbd', ['info', `vms/${ns}/b`, '--format', 'json'])) as { id: string }).id;
    const place = { monitors: [ceph.cluster.monitor], user: 'kvmpool', keyFile: ceph.keyFile, pool: 'vms', namespace: ns };
    await assert.rejects(removeImageData(place, b, 3, 'image b'), { code: 'IN_USE' });
    assert.equal((await objectsOf(`rbd_data.${b}.`)).length, 1);
    assert.deepEqual(JSON.parse(await ceph.cluster.admin('rbd', ['ls', '--pool', 'vms', '--namespace', ns, '--format', 'json'])), ['b', 'c']);
  });
});

test('listings answer from the pool\'s watch: images made, resized or removed by others show without a refresh; a refresh opens only images whose stamp changed', async () => {
  await withDaemon(async (t) => {
    const ns = await startRbdPool(t, 'ceph');
    for (const name of ['a', 'b']) await t.client.api.createVolume({ params: { pool: 'ceph' }, body: { name, capacity: '4M', format: 'raw' } });
    const theirs = (...args: string[]) => ceph.cluster.admin('rbd', args);
    await theirs('create', '--size', '8M', `vms/${ns}/outside`);
    const added = (await listedUntil(t, 'ceph', 'an image made outside', (v) => v.some((x) => x.name === 'outside'))).find((x) => x.name === 'outside')!;
    assert.deepEqual([added.capacity, added.managed], [8 * MiB, false]);
    await theirs('resize', '--size', '12M', `vms/${ns}/b`);
    await listedUntil(t, 'ceph', 'an image grown outside', (v) => v.find((x) => x.name === 'b')?.capacity === 12 * MiB);
    await theirs('rm', `vms/${ns}/outside`);
    await listedUntil(t, 'ceph', 'an image removed outside', (v) => !v.some((x) => x.name === 'outside'));

    // Opening an image by name reads its rbd_id object, which no stamp covers: with it gone, an image
    // that were opened again would be unreadable. A refresh reads only what changed, so `a` stays as it was.
    await ceph.cluster.admin('rados', ['-p', 'vms', '--namespace', ns, 'rm', 'rbd_id.a']);
    await theirs('resize', '--size', '16M', `vms/${ns}/b`);
    await t.client.api.refreshPool({ params: { pool: 'ceph' } });
    const listed = await t.client.api.listVolumes({ params: { pool: 'ceph' } });
    assert.deepEqual(listed.map((v) => [v.name, v.capacity, v.unreadable === true]), [['a', 4 * MiB, false], ['b', 16 * MiB, false]]);
    // The listings came from the watch: it never failed, so no listing read the whole pool again.
    assert.deepEqual(t.logs.filter((l) => /cannot be watched|reads the whole pool|watched anew|changed volume/.test(l)), []);
  });
});

test("a volume larger than the room the Ceph pool's quota leaves is NO_SPACE; a smaller one is made", async () => {
  await withDaemon(async (t) => {
    await ceph.cluster.admin('ceph', ['osd', 'pool', 'set-quota', 'small', 'max_bytes', String(64 * MiB)]);
    await startRbdPool(t, 'small', 'small');
    await t.client.api.getPool({ params: { pool: 'small' } });
    await assert.rejects(t.client.api.createVolume({ params: { pool: 'small' }, body: { name: 'big', capacity: '128M', format: 'raw' } }), { code: 'NO_SPACE', message: /quota/ });
    await t.client.api.createVolume({ params: { pool: 'small' }, body: { name: 'fits', capacity: '32M', format: 'raw' } });
    assert.deepEqual((await t.client.api.listVolumes({ params: { pool: 'small' } })).map((v) => v.name), ['fits']);
  });
});

/** The guest: what its disk holds, a write of its own, then its disk's size whenever it changes. */
const GUEST_SCRIPT = `
echo "READ $(head -c 16 /dev/vda)"
printf GUEST-WROTE-THIS | dd of=/dev/vda bs=512 seek=8 conv=notrunc,fsync 2>/dev/null && echo WROTE
last=""
while :; do now="$(cat /sys/block/vda/size)"; [ "$now" != "$last" ] && echo "SIZE $now" && last="$now"; sleep 0.3; done
`;

test('a VM boots from a layered clone through librbd (no key on its command line), sees it grow online, takes a live snapshot; its writes stay in the clone', { timeout: 300_000 }, async () => {
  await withDaemon(async (t) => {
    let guest: Guest | undefined;
    try {
      const ns = await startRbdPool(t, 'ceph');
      await t.client.api.createVolume({ params: { pool: 'ceph' }, body: { name: 'base', capacity: '32M', format: 'raw' } });
      await io(ns, 'base', ['write -P 0x41 0 16']);
      await jobResult(t, t.client.api.cloneVolume({ params: { pool: 'ceph', volume: 'base' }, body: { name: 'vm1', method: 'layered' } }));
      guest = await buildGuest(GUEST_SCRIPT);
      await t.client.api.defineVm({ body: { name: 'vm1', cpus: 1, memory: '256M', kernel: guest.kernel, initrd: guest.initrd, append: guest.append, disks: [{ pool: 'ceph', volume: 'vm1' }] } });
      const vm = await t.client.api.startVm({ params: { vm: 'vm1' } });
      const out = await waitConsole(t.client, 'vm1', /SIZE 65536/);
      assert.match(out, /READ AAAAAAAAAAAAAAAA/);
      assert.match(out, /WROTE/);
      const cmdline = await readFile(`/proc/${vm.pid}/cmdline`, 'utf8');
      assert.ok(cmdline.includes('"driver":"rbd"') && !cmdline.includes(ceph.key), 'qemu reads the image through librbd, its key from a file');

      const grown = await t.client.api.resizeVolume({ params: { pool: 'ceph', volume: 'vm1' }, body: { capacity: '48M' } });
      assert.equal(grown.capacity, 48 * MiB);
      await waitConsole(t.client, 'vm1', /SIZE 98304/);
      await t.client.api.createSnapshot({ params: { pool: 'ceph', volume: 'vm1' }, body: { name: 'live' } });
      await assert.rejects(t.client.api.revertSnapshot({ params: { pool: 'ceph', volume: 'vm1', snapshot: 'live' } }), { code: 'IN_USE' });
      await assert.rejects(t.client.api.deleteVolume({ params: { pool: 'ceph', volume: 'vm1' }, query: { force: true } }), { code: 'IN_USE' });

      const xml = await kvmpool(['--home', t.home, 'vol', 'attach-info', 'ceph/vm1', '--as', 'libvirt']);
      assert.match(xml.stdout, new RegExp(`<source protocol="rbd" name="vms/${ns}/vm1">`));
      assert.match(xml.stdout, /<auth username="kvmpool">\s*<secret type="ceph" usage="kvmpool-ceph"\/>/);
      await validateDomain(t.home, xml.stdout);

      await t.client.api.stopVm({ params: { vm: 'vm1' }, body: { timeout: 60 } });
      // What the guest wrote, a download returns (and the base it was cloned from does not have).
      const back = `${t.home}/vm1.raw`;
      const got = await kvmpool(['--home', t.home, 'vol', 'download', 'ceph/vm1', back, '--length', '8192']);
      assert.equal(got.code, 0, got.stderr);
      const head = await readFile(back);
      assert.equal(head.subarray(0, 16).toString(), 'A'.repeat(16));
      assert.equal(head.subarray(4096, 4096 + 16).toString(), 'GUEST-WROTE-THIS');
      await io(ns, 'base', ['read -P 0 4096 16']);
    } finally {
      for (const v of await t.client.api.listVms()) if (v.state === 'running') await t.client.api.killVm({ params: { vm: v.name } }).catch(observedElsewhere);
      await guest?.cleanup();
    }
  });
});

test('transfers of RBD images: uploads send only data (the cluster stores no zeros), downloads read only data, both ways with the CLI, streamed or not, checked by sha256', async () => {
  await withDaemon(async (t) => {
    const ns = await startRbdPool(t, 'ceph');
    const cli = (...args: string[]) => kvmpool(['--home', t.home, ...args]);
    const file = `${t.home}/disk.raw`;
    // 64 MiB with 3 MiB of data at the start, 1 MiB at 40 MiB, and a zero-filled MiB (written, but zeros).
    await run('truncate', ['-s', '64M', file]);
    await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x11 0 3M', '-c', 'write -P 0x22 40M 1M', '-c', 'write -z 50M 1M', file]);
    const sum = (await run('sha256sum', [file])).stdout.split(' ')[0]!;
    await t.client.api.createVolume({ params: { pool: 'ceph' }, body: { name: 'vm', capacity: '64M', format: 'raw' } });
    // What an earlier upload left (its stage, the image it replaced) is taken out of the way.
    for (const left of ['vm.kvmpool-upload', 'vm.kvmpool-old']) await ceph.cluster.admin('rbd', ['create', `vms/${ns}/${left}`, '--size', '4M']);
    for (const how of [[], ['--stream']]) {
      const up = JSON.parse((await cli('vol', 'upload', 'ceph/vm', file, '--verify', '--json', ...how)).stdout) as { sha256: string; dataBytes: number };
      assert.equal(up.sha256, sum, `upload ${how.join(' ')}`);
      assert.deepEqual(JSON.parse(await ceph.cluster.admin('rbd', ['ls', '--pool', 'vms', '--namespace', ns, '--format', 'json'])), ['vm']);
      assert.equal(up.dataBytes, 4 * MiB);
      const { images } = JSON.parse(await ceph.cluster.admin('rbd', ['du', `vms/${ns}/vm`, '--format', 'json'])) as { images: { used_size: number }[] };
      assert.ok(images[0]!.used_size <= 8 * MiB, `the cluster stores ${images[0]!.used_size} bytes`);
      await io(ns, 'vm', ['read -P 0x11 0 3M', 'read -P 0x22 40M 1M', 'read -P 0 3M 37M']);
      const back = `${t.home}/back.raw`;
      const down = await cli('vol', 'download', 'ceph/vm', back, '--sparse', '--verify', ...how);
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stdout, new RegExp(`sha256 ${sum} \\(verified\\)`));
      assert.equal((await run('sha256sum', [back])).stdout.split(' ')[0], sum);
      assert.ok((await stat(back)).blocks * 512 <= 8 * MiB, 'the download kept the holes');
      await rm(back);
    }
    // A range, and refusals: past the capacity, a partial upload into an image, another volume's format.
    const part = `${t.home}/part.raw`;
    assert.equal((await cli('vol', 'download', 'ceph/vm', part, '--offset', '40M', '--length', '2M')).code, 0);
    // A range lands where it is in the volume (a download resumed writes into the same file).
    const slice = async (f: string) => (await run('sh', ['-c', 'dd if="$0" bs=1M skip=40 count=2 status=none | sha256sum', f])).stdout.split(' ')[0];
    assert.equal(await slice(part), await slice(file));
    await run('truncate', ['-s', '80M', part]);
    const tooBig = await cli('vol', 'upload', 'ceph/vm', part);
    assert.notEqual(tooBig.code, 0);
    assert.match(tooBig.stderr, /past|larger/);
    assert.match((await cli('vol', 'upload', 'ceph/vm', file, '--offset', '0', '--length', '1M')).stderr, /partial upload.*not supported|NOT_SUPPORTED/i);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', part, '32M']);
    assert.notEqual((await cli('vol', 'upload', 'ceph/vm', part)).code, 0);
    // Nothing of the refused uploads is left, and the volume kept its content.
    assert.deepEqual(JSON.parse(await ceph.cluster.admin('rbd', ['ls', '--pool', 'vms', '--namespace', ns, '--format', 'json'])), ['vm']);
    await io(ns, 'vm', ['read -P 0x11 0 3M', 'read -P 0x22 40M 1M']);
  });
});

test("what a crash left beside the volumes is mended when the pool starts; names of kvmpool's own images are refused", async () => {
  await withDaemon(async (t) => {
    const ns = await startRbdPool(t, 'ceph');
    for (const name of ['a', 'b', 'c']) await t.client.api.createVolume({ params: { pool: 'ceph' }, body: { name, capacity: '4M', format: 'raw' } });
    await io(ns, 'a', ['write -P 0x61 0 4k']);
    const admin = (...args: string[]) => ceph.cluster.admin('rbd', args);
    const spec = (image: string) => `vms/${ns}/${image}`;
    // An upload of a cut short between its two renames; one of b cut short while writing; a deferred delete of c cut short.
    await admin('rename', spec('a'), spec('a.kvmpool-old'));
    await admin('create', spec('a.kvmpool-upload'), '--size', '4M');
    await admin('create', spec('b.kvmpool-upload'), '--size', '4M');
    await admin('rename', spec('c'), spec('c.kvmpool-deferred'));
    await t.client.api.stopPool({ params: { pool: 'ceph' } });
    await t.client.api.startPool({ params: { pool: 'ceph' } });
    assert.deepEqual(JSON.parse(await admin('ls', '--pool', 'vms', '--namespace', ns, '--format', 'json')), ['a', 'b']);
    assert.deepEqual((JSON.parse(await admin('trash', 'ls', '--pool', 'vms', '--namespace', ns, '--format', 'json')) as { name: string }[]).map((x) => x.name), ['c.kvmpool-deferred']);
    await io(ns, 'a', ['read -P 0x61 0 4k']);
    assert.ok(t.logs.some((l) => /gave a its image back/.test(l)), t.logs.join('\n'));
    for (const name of ['x.kvmpool-upload', 'x.kvmpool-old', 'x.kvmpool-deferred']) {
      await assert.rejects(t.client.api.createVolume({ params: { pool: 'ceph' }, body: { name, capacity: '4M', format: 'raw' } }), { code: 'INVALID_ARGUMENT' }, name);
      await assert.rejects(t.client.api.renameVolume({ params: { pool: 'ceph', volume: 'b' }, body: { name } }), { code: 'INVALID_ARGUMENT' }, name);
    }
  });
});
