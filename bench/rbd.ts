/**
 * The Ceph RBD section of the benchmark: a throw-away one-node cluster (test/helpers/ceph.ts, the OSD's
 * data in memory) on this machine, kvmpool's rbd pool beside the `rbd` tool and libvirt's rbd pool on
 * the same Ceph pool: image create, layered clone, snapshot and delete (the median of 5 each), upload
 * and download of 1 GiB against `rbd import` / `rbd export`, and listing and refreshing 1,000 images
 * against `virsh pool-refresh` + `vol-list --details`.
 */
import { randomFillSync, randomUUID } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../src/host/exec.js';
import type { KvmpoolClient } from '../src/client/client.js';
import { startCeph } from '../test/helpers/ceph.js';
import type { Libvirt } from './peers.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const IMAGES = 1000;
const LIBVIRT_POOL = 'kvmpool-bench-rbd';

/** One row: kvmpool's time beside the rbd tool's and libvirt's for the same work. */
export interface RbdRow {
  operation: string;
  kvmpool: number;
  rbd?: number;
  libvirt?: number;
  note?: string;
}

const seconds = async (fn: () => Promise<unknown>): Promise<number> => {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
};

/** The median of 5 timings; `each(i)` is timed with the run's number. */
async function median5(each: (i: number) => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) times.push(await seconds(() => each(i)));
  return times.sort((a, b) => a - b)[2]!;
}

/**
 * The medians of 3 runs of two ways to do the same work, taken in turn, so that the machine's slow
 * and fast moments fall on both (one run each varied by 1.5x on this machine); `untimed` cleans up
 * after each turn.
 */
async function pairedMedians(ours: (i: number) => Promise<unknown>, theirs: (i: number) => Promise<unknown>, untimed: (i: number) => Promise<unknown>): Promise<[number, number]> {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < 3; i++) {
    a.push(await seconds(() => ours(i)));
    b.push(await seconds(() => theirs(i)));
    await untimed(i);
  }
  const middle = (x: number[]) => x.sort((p, q) => p - q)[1]!;
  return [middle(a), middle(b)];
}

/** Measures the rows; `k` runs the CLI against the daemon `client` talks to. */
export async function rbdRows(work: string, client: KvmpoolClient, k: (...args: string[]) => Promise<unknown>, libvirt: Libvirt): Promise<RbdRow[]> {
  const cluster = await startCeph(path.join(work, 'ceph'));
  const rows: RbdRow[] = [];
  let libvirtPool = false;
  let secret: string | undefined;
  try {
    await cluster.makePool('vms');
    const keyFile = await cluster.makeUser('kvmpool', ['vms']);
    const key = (await readFile(keyFile, 'utf8')).trim();
    const tool = (...args: string[]) => run('rbd', ['--conf', '/dev/null', '-m', cluster.monitor, '--id', 'kvmpool', '--keyfile', keyFile, ...args], { timeoutMs: 600_000 });
    await client.call('definePool', { body: { name: 'ceph', type: 'rbd', source: { monitors: [cluster.monitor], rbdPool: 'vms', user: 'kvmpool', key } } });
    await client.call('startPool', { params: { pool: 'ceph' } });
    const job = async (started: Promise<{ job: { id: string } }>) => {
      const end = await client.waitJob((await started).job.id);
      if (end.state !== 'succeeded') throw new Error(JSON.stringify(end.error));
    };
    const vol = (volume: string) => ({ params: { pool: 'ceph', volume } });

    // libvirt's rbd pool on the same Ceph pool, with the key as a libvirt secret.
    const uuid = randomUUID();
    await libvirt.virsh('secret-define', '--file', await writeXml(work, 'secret.xml', `<secret ephemeral="no" private="yes"><uuid>${uuid}</uuid><usage type="ceph"><name>kvmpool-bench-${uuid}</name></usage></secret>`));
    secret = uuid;
    await libvirt.virsh('secret-set-value', secret, '--file', keyFile);
    const [host, port] = cluster.monitor.split(':');
    await libvirt.virsh('pool-define', await writeXml(work, 'pool.xml', `<pool type="rbd"><name>${LIBVIRT_POOL}</name><source><name>vms</name><host name="${host}" port="${port}"/><auth username="kvmpool" type="ceph"><secret uuid="${secret}"/></auth></source></pool>`));
    libvirtPool = true;
    await libvirt.virsh('pool-start', LIBVIRT_POOL);
    const virsh = (...args: string[]) => libvirt.virsh(...args, '--pool', LIBVIRT_POOL);

    process.stderr.write('rbd: create, clone, snapshot, delete...\n');
    await client.call('createVolume', { params: { pool: 'ceph' }, body: { name: 'base', capacity: '10G' } });
    await tool('bench', '--io-type', 'write', '--io-size', '4M', '--io-total', '64M', 'vms/base');
    // libvirt clones an image of its own: its vol-clone fails on one with clone v2 children ("the cause is unknown").
    await virsh('vol-create-as', '--name', 'lbase', '--capacity', '10G', '--format', 'raw');
    await tool('bench', '--io-type', 'write', '--io-size', '4M', '--io-total', '64M', 'vms/lbase');
    rows.push({
      operation: 'create a 10 GiB image (each the median of 5)',
      kvmpool: await median5((i) => client.call('createVolume', { params: { pool: 'ceph' }, body: { name: `k${i}`, capacity: '10G' } })),
      rbd: await median5((i) => tool('create', `vms/r${i}`, '--size', '10G')),
      libvirt: await median5((i) => virsh('vol-create-as', '--name', `l${i}`, '--capacity', '10G', '--format', 'raw')),
    });
    rows.push({
      operation: 'layered clone (rbd: snap create + clone; libvirt: vol-clone)',
      kvmpool: await median5((i) => job(client.call('cloneVolume', { ...vol('base'), body: { name: `kc${i}`, method: 'layered' } }))),
      rbd: await median5(async (i) => {
        await tool('snap', 'create', '--no-progress', `vms/base@s${i}`);
        await tool('clone', '--rbd-default-clone-format', '2', `vms/base@s${i}`, `vms/rc${i}`);
      }),
      libvirt: await median5((i) => virsh('vol-clone', 'lbase', `lc${i}`)),
    });
    rows.push({
      operation: 'snapshot (libvirt: none for volumes)',
      kvmpool: await median5((i) => client.call('createSnapshot', { ...vol(`k${i}`), body: { name: 'snap' } })),
      rbd: await median5((i) => tool('snap', 'create', '--no-progress', `vms/r${i}@snap`)),
    });
    for (let i = 0; i < 5; i++) await tool('snap', 'create', '--no-progress', `vms/l${i}@snap`);
    rows.push({
      operation: 'delete an image with a snapshot (libvirt: vol-delete --delete-snapshots)',
      kvmpool: await median5((i) => client.call('deleteVolume', { ...vol(`k${i}`), query: { force: true } })),
      rbd: await median5(async (i) => {
        await tool('snap', 'purge', '--no-progress', `vms/r${i}`);
        await tool('rm', '--no-progress', `vms/r${i}`);
      }),
      libvirt: await median5((i) => virsh('vol-delete', '--delete-snapshots', `l${i}`)),
    });

    process.stderr.write('rbd: upload and download...\n');
    const file = path.join(work, 'rbd-1g.raw');
    const chunk = randomFillSync(Buffer.alloc(64 * MiB));
    await writeFile(file, Buffer.alloc(0));
    for (let i = 0; i < GiB / chunk.length; i++) await writeFile(file, chunk, { flag: 'a' });
    await client.call('createVolume', { params: { pool: 'ceph' }, body: { name: 'up', capacity: '1G' } });
    // Each into a new image, as rbd import writes one. The cluster holds 4 GiB in memory: what a turn
    // wrote goes before the next (untimed).
    const [up, imported] = await pairedMedians(
      () => k('vol', 'upload', 'ceph/up', file),
      () => tool('import', '--no-progress', file, 'vms/imported'),
      async (i) => {
        await tool('rm', '--no-progress', 'vms/imported');
        if (i === 2) return;
        await client.call('deleteVolume', vol('up'));
        await client.call('createVolume', { params: { pool: 'ceph' }, body: { name: 'up', capacity: '1G' } });
      },
    );
    rows.push({ operation: 'upload 1 GiB of random data (CLI; rbd import; medians of 3, taken in turn)', kvmpool: up, rbd: imported });
    const out = (who: string, i: number) => path.join(work, `rbd-out-${who}${i}.raw`);
    const [down, exported] = await pairedMedians(
      (i) => k('vol', 'download', 'ceph/up', out('kvmpool', i)),
      (i) => tool('export', '--no-progress', 'vms/up', out('rbd', i)),
      async (i) => {
        for (const who of ['kvmpool', 'rbd']) await rm(out(who, i));
      },
    );
    rows.push({ operation: 'download 1 GiB of random data (CLI; rbd export; medians of 3, taken in turn)', kvmpool: down, rbd: exported });
    await rm(file);

    process.stderr.write(`rbd: ${IMAGES} images...\n`);
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < IMAGES) await tool('create', `vms/many${String(next++).padStart(4, '0')}`, '--size', '1G');
    }));
    // The first listing reads what the pool's watch saw come and has not read yet.
    const first = await seconds(() => client.call('listVolumes', { params: { pool: 'ceph' } }));
    const listed = await median5(() => client.call('listVolumes', { params: { pool: 'ceph' } }));
    const refreshed = await median5(() => client.call('refreshPool', { params: { pool: 'ceph' } }));
    const theirs = await median5(async () => {
      await libvirt.virsh('pool-refresh', LIBVIRT_POOL);
      await libvirt.virsh('vol-list', '--details', LIBVIRT_POOL);
    });
    const count = (await client.call('listVolumes', { params: { pool: 'ceph' } })).length;
    rows.push({ operation: `list ${count} images, API (libvirt: pool-refresh + vol-list --details)`, kvmpool: listed, libvirt: theirs, note: `the first after they were made: ${first.toFixed(2)} s` });
    rows.push({ operation: `pool refresh, ${count} images, none changed (libvirt: pool-refresh)`, kvmpool: refreshed, libvirt: await median5(() => libvirt.virsh('pool-refresh', LIBVIRT_POOL)) });
    return rows;
  } finally {
    if (libvirtPool) {
      await libvirt.virsh('pool-destroy', LIBVIRT_POOL).catch(() => undefined);
      await libvirt.virsh('pool-undefine', LIBVIRT_POOL).catch(() => undefined);
    }
    if (secret) await libvirt.virsh('secret-undefine', secret).catch(() => undefined);
    await client.call('stopPool', { params: { pool: 'ceph' } }).catch(() => undefined);
    await client.call('undefinePool', { params: { pool: 'ceph' } }).catch(() => undefined);
    await cluster.stop();
  }
}

async function writeXml(dir: string, name: string, xml: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, xml);
  return file;
}

/** The section's table in markdown. */
export function rbdTable(rows: RbdRow[]): string[] {
  const s = (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(2)} s`);
  const ratio = (peer: number | undefined, ours: number) => (peer === undefined ? '-' : `${(peer / ours).toFixed(1)}x`);
  return [
    'Ceph RBD: a one-node cluster on this machine (memstore: the OSD keeps data in memory), kvmpool beside the rbd tool and libvirt on the same Ceph pool:',
    '',
    '| operation | kvmpool | rbd tool | rbd / kvmpool | libvirt | libvirt / kvmpool |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.operation} | ${s(r.kvmpool)}${r.note ? ` (${r.note})` : ''} | ${s(r.rbd)} | ${ratio(r.rbd, r.kvmpool)} | ${s(r.libvirt)} | ${ratio(r.libvirt, r.kvmpool)} |`),
  ];
}
