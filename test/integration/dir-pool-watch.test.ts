import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../src/host/exec.js';
import { Volume, type VolumeBody } from '../../src/api/schemas.js';
import { kvmpool } from '../helpers/cli.js';
import { rawCall, startPool, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';
import { listedUntil as waitListed } from '../helpers/listing.js';

// Listings answer from the store; the directory's own change signal (inotify) says what to read again.
// qemu-img runs through a wrapper on PATH that logs each run: what the daemon reads is counted.

const MiB = 1024 * 1024;
let t: TestDaemon;
let shim: { dir: string; cleanup: () => Promise<void> };
let qemuLog: string;

before(async () => {
  shim = await tempDir();
  qemuLog = path.join(shim.dir, 'runs.log');
  await writeFile(path.join(shim.dir, 'qemu-img'), `#!/bin/sh\necho "$@" >> ${qemuLog}\nexec /usr/bin/qemu-img "$@"\n`);
  await chmod(path.join(shim.dir, 'qemu-img'), 0o755);
  process.env.PATH = `${shim.dir}:${process.env.PATH ?? ''}`;
  t = await startTestDaemon();
});

after(async () => {
  await t.close();
  await shim.cleanup();
});

const list = (pool: string) => t.client.call('listVolumes', { params: { pool } });
/** The qemu-img info runs logged so far, by file name. */
const infoRuns = async () =>
  (await readFile(qemuLog, 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => l.startsWith('info'))
    .map((l) => path.basename(l.split(' ').at(-1)!));
/** qemu-img as someone else runs it (not through the wrapper). */
const theirQemuImg = (...args: string[]) => run('/usr/bin/qemu-img', args);

const listedUntil = (pool: string, what: string, check: (vols: VolumeBody[]) => boolean) => waitListed(t, pool, what, check);

test('a file added, renamed, written, replaced or removed by someone else shows in the listing without a refresh', async () => {
  const target = await startPool(t, 'watched');
  await theirQemuImg('create', '-q', '-f', 'qcow2', path.join(target, 'theirs.qcow2'), '32M');
  const added = (await listedUntil('watched', 'an added file', (v) => v.some((x) => x.name === 'theirs.qcow2'))).find((x) => x.name === 'theirs.qcow2')!;
  assert.equal(added.format, 'qcow2');
  assert.equal(added.capacity, 32 * MiB);
  assert.equal(added.managed, false);

  await rename(path.join(target, 'theirs.qcow2'), path.join(target, 'moved.qcow2'));
  const moved = await listedUntil('watched', 'a renamed file', (v) => v.some((x) => x.name === 'moved.qcow2') && !v.some((x) => x.name === 'theirs.qcow2'));
  assert.equal(moved.find((x) => x.name === 'moved.qcow2')!.key, added.key, 'a file renamed outside keeps its key');

  await theirQemuImg('resize', '-q', '-f', 'qcow2', path.join(target, 'moved.qcow2'), '48M');
  await listedUntil('watched', 'a file grown outside', (v) => v.find((x) => x.name === 'moved.qcow2')?.capacity === 48 * MiB);

  // Replaced by another file (a new inode): a new foreign volume of that name, its format read anew.
  await writeFile(path.join(target, '.incoming'), Buffer.alloc(MiB));
  await rename(path.join(target, '.incoming'), path.join(target, 'moved.qcow2'));
  const replaced = (await listedUntil('watched', 'a replaced file', (v) => v.find((x) => x.name === 'moved.qcow2')?.format === 'raw')).find((x) => x.name === 'moved.qcow2')!;
  assert.notEqual(replaced.key, added.key);
  assert.equal(replaced.capacity, MiB);

  await unlink(path.join(target, 'moved.qcow2'));
  await listedUntil('watched', 'a removed file', (v) => !v.some((x) => x.name === 'moved.qcow2'));
  // Directories and part files are never volumes, whichever way they come.
  await mkdir(path.join(target, 'subdir.img'));
  await writeFile(path.join(target, '.x.img.kvmpool-part'), 'x');
  await t.client.call('createVolume', { params: { pool: 'watched' }, body: { name: 'last.img', capacity: '1M' } });
  await listedUntil('watched', 'a volume made after them', (v) => v.map((x) => x.name).join() === 'last.img');
});

test('a refresh reads again only the volumes that changed: qemu-img runs for those, not for the rest', async () => {
  const target = await startPool(t, 'counted');
  const names = Array.from({ length: 12 }, (_, i) => `v${String(i).padStart(2, '0')}.qcow2`);
  for (const name of names) await t.client.call('createVolume', { params: { pool: 'counted' }, body: { name, capacity: '16M', format: 'qcow2' } });
  await t.client.call('refreshPool', { params: { pool: 'counted' } });
  await rm(qemuLog, { force: true });
  const changed = ['v02.qcow2', 'v07.qcow2', 'v11.qcow2'];
  for (const name of changed) await theirQemuImg('resize', '-q', '-f', 'qcow2', path.join(target, name), '20M');
  await t.client.call('refreshPool', { params: { pool: 'counted' } });
  const vols = await list('counted');
  assert.deepEqual(vols.filter((v) => v.capacity === 20 * MiB).map((v) => v.name), changed);
  // The watch was told of those writes too: a listing reads what it was told first, and finds them known.
  await list('counted');
  assert.deepEqual((await infoRuns()).sort(), changed);
});

test('pages of a listing: limit and after, in name order; a volume backing one on another page says so; volumes carry the API fields only', async () => {
  await startPool(t, 'paged');
  for (const name of ['a.qcow2', 'c.img', 'd.img', 'e.img']) await t.client.call('createVolume', { params: { pool: 'paged' }, body: { name, capacity: '8M', format: name.endsWith('qcow2') ? 'qcow2' : 'raw' } });
  const clone = await t.client.call('cloneVolume', { params: { pool: 'paged', volume: 'a.qcow2' }, body: { name: 'z.qcow2', method: 'linked' } });
  assert.equal((await t.client.waitJob(clone.job.id)).state, 'succeeded');
  const whole = await list('paged');
  const pages: VolumeBody[][] = [];
  for (let after: string | undefined; ; ) {
    const page = await t.client.call('listVolumes', { params: { pool: 'paged' }, query: { limit: 2, ...(after ? { after } : {}) } });
    pages.push(page);
    if (page.length < 2) break;
    after = page.at(-1)!.name;
  }
  assert.deepEqual(pages.map((p) => p.map((v) => v.name)), [['a.qcow2', 'c.img'], ['d.img', 'e.img'], ['z.qcow2']]);
  assert.deepEqual(pages.flat(), whole);
  const base = pages[0]![0]!;
  assert.ok(!base.features.includes('delete'), 'the base of a linked clone on another page cannot be deleted');
  assert.ok(pages[2]![0]!.backingVolume === 'a.qcow2' && !pages[2]![0]!.backingOutsidePool);
  const fields = new Set(Object.keys(Volume.properties));
  for (const v of whole) assert.deepEqual(Object.keys(v).filter((k) => !fields.has(k)), [], `${v.name} carries only the API's fields`);
  for (const query of [{ limit: 0 }, { limit: 10_001 }, { limit: 'x' }]) {
    await assert.rejects(rawCall(t.client, 'listVolumes', { params: { pool: 'paged' }, query }), { code: 'INVALID_ARGUMENT' });
  }
});

test('vol list streams page by page: the table and --json hold every volume, in name order', async () => {
  await startPool(t, 'cli');
  const names = ['a.img', 'b.img', 'c.img', 'd.img', 'e.img'];
  for (const name of names) await t.client.call('createVolume', { params: { pool: 'cli' }, body: { name, capacity: '1M' } });
  const table = await kvmpool(['--home', t.home, 'vol', 'list', 'cli', '--page', '2']);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trim().split('\n');
  assert.match(lines[0]!, /^NAME\s+FORMAT\s+CAPACITY/);
  assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)[0]), names);
  const json = await kvmpool(['--home', t.home, '--json', 'vol', 'list', 'cli', '--page', '2']);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual((JSON.parse(json.stdout) as VolumeBody[]).map((v) => v.name), names);
  const empty = await kvmpool(['--home', t.home, '--json', 'vol', 'list', 'default']);
  assert.deepEqual(JSON.parse(empty.stdout), []);
  const refused = await kvmpool(['--home', t.home, '--json', 'vol', 'list', 'nosuch']);
  assert.notEqual(refused.code, 0);
  assert.equal((JSON.parse(refused.stdout) as { error: { code: string } }).error.code, 'NOT_FOUND', 'a refused listing prints its error, not half a document');
  assert.equal((await kvmpool(['--home', t.home, 'vol', 'list', 'cli', '--page', '0'])).code !== 0, true);
});

test('a pool directory replaced under the watch is read whole by the next listing', async () => {
  const target = await startPool(t, 'replaced');
  await t.client.call('createVolume', { params: { pool: 'replaced' }, body: { name: 'old.img', capacity: '1M' } });
  await rename(target, `${target}.away`);
  await mkdir(target);
  await writeFile(path.join(target, 'new.img'), Buffer.alloc(MiB));
  assert.deepEqual((await list('replaced')).map((v) => v.name), ['new.img']);
  // Watched anew: what comes next shows without a refresh.
  await writeFile(path.join(target, 'next.img'), Buffer.alloc(MiB));
  await listedUntil('replaced', 'a file added after', (v) => v.some((x) => x.name === 'next.img'));
  await rm(`${target}.away`, { recursive: true });
});
