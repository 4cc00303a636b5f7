import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../../src/host/exec.js';
import { KvmpoolClient } from '../../../src/client/client.js';
import { KvmpoolError } from '../../../src/model/errors.js';
import { kvmpool, serve, type ServeProcess } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/tmp.js';
import { storageDataConformance, storageDriverConformance, type ConformanceFixture } from '../../conformance/storage-driver.js';
import { scsiDriver } from '../../../src/drivers/storage/scsi/scsi.js';

const MiB = 1024 ** 2;
const SCSI_DEBUG = '/sys/bus/pseudo/drivers/scsi_debug';
let work = '';
let removeWork: () => Promise<void> = async () => {};
let home = '';
let daemon: ServeProcess | undefined;
let client: KvmpoolClient;
let adapter = '';

before(async () => {
  ({ dir: work, cleanup: removeWork } = await tempDir());
  // A SCSI adapter of the kernel's own making: one target, two disks of 32 MiB each.
  // sd_mod gives its disks block devices (udev would load it on a machine that runs udev).
  await run('modprobe', ['-d', '/run/modroot', 'sd_mod']);
  await run('modprobe', ['-d', '/run/modroot', 'scsi_debug', 'dev_size_mb=32', 'num_tgts=1', 'max_luns=2']);
  for (const h of await readdir('/sys/class/scsi_host')) {
    if ((await readFile(`/sys/class/scsi_host/${h}/proc_name`, 'utf8')).trim() === 'scsi_debug') adapter = h;
  }
  assert.ok(adapter, 'scsi_debug made an adapter');
  // Its disks are probed in the background.
  for (let i = 0; i < 100 && (await readdir('/sys/class/block').catch(() => [] as string[])).filter((b) => /^sd[a-z]+$/.test(b)).length < 2; i++) await new Promise((r) => setTimeout(r, 100));
  home = path.join(work, 'home');
  daemon = await serve(home);
  client = new KvmpoolClient({ socketPath: path.join(home, 'kvmpool.sock') });
});

after(async () => {
  await daemon?.stop();
  await removeWork();
});

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e instanceof KvmpoolError ? e.code : String(e)));
const cli = async (...args: string[]) => {
  const r = await kvmpool(['--home', home, ...args]);
  assert.equal(r.code, 0, `kvmpool ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

test('scsi: an adapter found by pool sources, its disks as volumes, a disk added on the adapter seen on refresh', async () => {
  const found = JSON.parse(await cli('--json', 'pool', 'sources', '--type', 'scsi')) as { source: { adapter: string }; details: string }[];
  const mine = found.find((f) => f.source.adapter === adapter);
  assert.ok(mine && /scsi_debug: 2 disk/.test(mine.details), JSON.stringify(found));

  await cli('pool', 'define', 'hba', '--type', 'scsi', '--adapter', adapter);
  await cli('pool', 'start', 'hba');
  const vols = await client.call('listVolumes', { params: { pool: 'hba' } });
  assert.deepEqual(vols.map((v) => [v.name, v.capacity]), [['lun-0-0-0', 32 * MiB], ['lun-0-0-1', 32 * MiB]]);
  assert.equal(await code(client.call('createVolume', { params: { pool: 'hba' }, body: { name: 'x', capacity: '1M' } })), 'NOT_SUPPORTED');

  const file = path.join(work, 'data.img');
  await run('dd', ['if=/dev/urandom', `of=${file}`, 'bs=1M', 'count=4', 'status=none']);
  await cli('vol', 'upload', 'hba/lun-0-0-1', file, '--force');
  await cli('vol', 'download', 'hba/lun-0-0-1', path.join(work, 'back.img'));
  const sha = async (f: string) => (await run('sh', ['-c', `head -c ${4 * MiB} "$0" | sha256sum`, f])).stdout.split(' ')[0];
  assert.equal(await sha(path.join(work, 'back.img')), await sha(file));
  await cli('vol', 'wipe', 'hba/lun-0-0-1', '--force');

  // A third disk on the adapter: seen once the pool is refreshed (which rescans the adapter).
  await writeFile(path.join(SCSI_DEBUG, 'max_luns'), '3');
  await cli('pool', 'refresh', 'hba');
  const more = await client.call('listVolumes', { params: { pool: 'hba' } });
  assert.deepEqual(more.map((v) => v.name), ['lun-0-0-0', 'lun-0-0-1', 'lun-0-0-2']);

  await cli('pool', 'stop', 'hba');
  await cli('pool', 'undefine', 'hba');
  for (const adapterName of ['host999', 'host1;reboot']) {
    const body = { name: 'bad', type: 'scsi', source: { adapter: adapterName } };
    const defined = await code(client.call('definePool', { body: body as never }));
    if (defined === 'ok') {
      assert.equal(await code(client.call('startPool', { params: { pool: 'bad' } })), 'NOT_FOUND');
      await client.call('undefinePool', { params: { pool: 'bad' } });
    } else assert.equal(defined, 'INVALID_ARGUMENT');
  }
});

// The shared suite on the adapter's disks (made by the kernel, not by the pool).
const scsiFixture: ConformanceFixture = {
  driver: scsiDriver,
  makePool: async () => ({ def: await scsiDriver.validate({ name: 'conf', type: 'scsi', target: '', autostart: false, source: { adapter }, secrets: {} }), cleanup: async () => {} }),
  skip: { qcow2: 'disks of an adapter are raw' },
  provided: { names: ['lun-0-0-1', 'lun-0-0-0'], reason: 'the disks are made by the adapter, not by the pool' },
};
storageDriverConformance('scsi (scsi_debug)', scsiFixture);
storageDataConformance('scsi (scsi_debug)', scsiFixture);
