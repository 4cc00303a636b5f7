import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../../src/host/exec.js';
import { diskDriver } from '../../../src/drivers/storage/disk/disk.js';
import { withDaemon, type TestDaemon } from '../../helpers/daemon.js';
import { storageDataConformance, storageDriverConformance, type ConformanceFixture } from '../../conformance/storage-driver.js';
import { capabilityConformance } from '../../conformance/capabilities.js';
import { blankDisks, disks } from './disks.js';

const MiB = 1024 * 1024;

const fixture: ConformanceFixture = {
  driver: diskDriver,
  async makePool() {
    const [a] = disks();
    await blankDisks();
    const def = await diskDriver.validate({ name: 'conf', type: 'disk', target: '', autostart: false, source: { devices: [a!] }, secrets: {} });
    return { def, cleanup: () => blankDisks() };
  },
  skip: {
    qcow2: 'volumes of a disk pool are raw partitions',
    sparse: 'a partition is allocated when it is made',
    'cancel-prealloc': 'a partition is allocated when it is made: there is no long preallocation to cancel',
    resize: 'partitions of a disk pool are not resized',
    rename: 'partitions of a disk pool are not renamed',
  },
};

storageDriverConformance('disk', fixture);
storageDataConformance('disk', fixture);
capabilityConformance('disk', {
  async define() {
    const [a] = disks();
    await blankDisks();
    return { body: { name: 'caps', type: 'disk', source: { devices: [a!] } }, cleanup: () => blankDisks() };
  },
});

const create = (t: TestDaemon, pool: string, name: string, capacity: string) => t.client.call('createVolume', { params: { pool }, body: { name, capacity } });
const names = async (t: TestDaemon, pool: string) => (await t.client.call('listVolumes', { params: { pool } })).map((v) => v.name);

test('a disk pool: four partitions in aligned free extents, a gap reused, free extents reported; dos holds four', () =>
  withDaemon(async (t) => {
    const [a, b] = disks();
    await blankDisks();
    try {
      await t.client.call('definePool', { body: { name: 'd', type: 'disk', source: { devices: [a!] } } });
      await t.client.call('buildPool', { params: { pool: 'd' } });
      await t.client.call('startPool', { params: { pool: 'd' } });
      for (const [name, size] of [['boot', '64M'], ['root', '200M'], ['swap', '100M'], ['data', '300M']] as const) await create(t, 'd', name, size);
      const vols = await t.client.call('listVolumes', { params: { pool: 'd' } });
      assert.deepEqual(vols.map((v) => [v.name, v.capacity]), [['boot', 64 * MiB], ['data', 300 * MiB], ['root', 200 * MiB], ['swap', 100 * MiB]]);
      const { stdout } = await run('sfdisk', ['--json', a!]);
      const parts = (JSON.parse(stdout) as { partitiontable: { partitions: { start: number; size: number; name: string }[] } }).partitiontable.partitions;
      assert.equal(parts.length, 4);
      for (const p of parts) assert.equal((p.start * 512) % MiB, 0, `${p.name} starts on a MiB boundary`);
      // A write to one partition stays in it.
      const root = await t.client.call('getVolume', { params: { pool: 'd', volume: 'root' } });
      await run('dd', ['if=/dev/urandom', `of=${root.path}`, 'bs=1M', 'count=200', 'oflag=direct', 'status=none']);
      await assert.rejects(run('dd', ['if=/dev/zero', `of=${root.path}`, 'bs=1M', 'count=1', 'seek=200', 'oflag=direct', 'status=none']));

      // The freed gap takes a new partition that fits; free extents say where room is.
      await t.client.call('deleteVolume', { params: { pool: 'd', volume: 'root' } });
      const before = await t.client.call('getPool', { params: { pool: 'd' } });
      assert.ok((before.freeExtents ?? []).some((e) => e.size >= 200 * MiB), JSON.stringify(before.freeExtents));
      await create(t, 'd', 'home', '150M');
      const home = (JSON.parse((await run('sfdisk', ['--json', a!])).stdout) as { partitiontable: { partitions: { start: number; name: string }[] } }).partitiontable.partitions.find((p) => p.name === 'home')!;
      const boot = parts.find((p) => p.name === 'boot')!;
      assert.equal(home.start, boot.start + boot.size, 'the new partition goes in the first gap it fits');
      await assert.rejects(create(t, 'd', 'huge', '2G'), { code: 'NO_SPACE' });
      await assert.rejects(create(t, 'd', 'bad name', '8M'), { code: 'INVALID_ARGUMENT' });
      const pool = await t.client.call('getPool', { params: { pool: 'd' } });
      assert.equal(pool.allocation, (64 + 150 + 100 + 300) * MiB);

      // A disk with a table is not rebuilt unless handed over; delete refuses while partitions exist.
      await t.client.call('stopPool', { params: { pool: 'd' }, body: {} });
      await assert.rejects(t.client.call('deletePool', { params: { pool: 'd' }, body: {} }), { code: 'POOL_NOT_EMPTY' });
      await t.client.call('definePool', { body: { name: 'dos', type: 'disk', source: { devices: [b!], label: 'dos' } } });
      await run('sh', ['-c', 'printf "label: gpt\\n" | sfdisk --quiet "$0"', b!]);
      await assert.rejects(t.client.call('buildPool', { params: { pool: 'dos' } }), { code: 'DEVICE_NOT_EMPTY' });
      await t.client.call('buildPool', { params: { pool: 'dos' }, body: { overwrite: true } });
      await t.client.call('startPool', { params: { pool: 'dos' } });
      const disk = b!.slice(b!.lastIndexOf('/') + 1);
      await assert.rejects(create(t, 'dos', 'first', '8M'), { code: 'INVALID_ARGUMENT' });
      for (let i = 1; i <= 4; i++) await create(t, 'dos', `${disk}${i}`, '16M');
      assert.deepEqual(await names(t, 'dos'), [1, 2, 3, 4].map((i) => `${disk}${i}`));
      await assert.rejects(create(t, 'dos', `${disk}5`, '16M'), { code: 'NO_SPACE' });
    } finally {
      await blankDisks();
    }
  }));
