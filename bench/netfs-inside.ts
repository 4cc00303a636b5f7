/**
 * The network storage rows of the benchmark, run inside the test host (the machine's own kernel has no
 * NFS client): a kernel NFS server on one disk over lo, a dir pool on an ext4 on the other, and the
 * daemon in this process. Each contender starts with an empty page cache and ends with a `sync`.
 * Prints one line `BENCH-NETFS <json>` with the rows.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomFillSync } from 'node:crypto';
import path from 'node:path';
import { run } from '../src/host/exec.js';
import { startDaemon } from '../src/daemon/daemon.js';
import { PACKAGE_ROOT } from '../src/daemon/home.js';
import { KvmpoolClient } from '../src/client/client.js';
import { disks } from '../test/testhost/inside/disks.js';
import { loadNetModules, nfsServer } from '../test/testhost/inside/net-servers.js';
import type { Row } from './table.js';

const MiB = 1024 ** 2;
const SIZE = 1024 * MiB;
const WRITTEN = 512 * MiB;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  await run('sync', []);
  await writeFile('/proc/sys/vm/drop_caches', '3');
  const t = performance.now();
  await fn();
  await run('sync', [], { timeoutMs: 600_000 });
  return (performance.now() - t) / 1000;
}

async function main(): Promise<void> {
  const work = process.env['TMPDIR'] ?? '/tmp';
  const [nfsDisk, localDisk] = disks();
  await loadNetModules();
  const exported = path.join(work, 'export');
  const nfs = await nfsServer(nfsDisk!, exported);
  const local = path.join(work, 'local');
  await mkdir(local, { recursive: true });
  await run('mkfs.ext4', ['-F', '-q', localDisk!]);
  await run('mount', [localDisk!, local]);
  const daemon = await startDaemon({ home: path.join(work, 'home'), listen: null, log: () => {} });
  const client = new KvmpoolClient({ socketPath: daemon.paths.socket });
  const rows: Row[] = [];
  const mnt = path.join(work, 'peer-mnt');
  try {
    const job = async (started: Promise<{ job: { id: string } }>) => {
      const end = await client.waitJob((await started).job.id);
      if (end.state !== 'succeeded') throw new Error(JSON.stringify(end.error));
    };
    await client.call('definePool', { body: { name: 'local', type: 'dir', target: path.join(local, 'pool') } });
    await client.call('buildPool', { params: { pool: 'local' } });
    await client.call('startPool', { params: { pool: 'local' } });
    await client.call('definePool', { body: { name: 'nas', type: 'netfs', target: path.join(work, 'nas'), source: { host: '127.0.0.1', export: exported } } });
    await client.call('buildPool', { params: { pool: 'nas' } });

    // Start (mount) against mounting by hand, each three times: the median.
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[1]!;
    const starts: number[] = [];
    const mounts: number[] = [];
    await mkdir(mnt, { recursive: true });
    for (let i = 0; i < 3; i++) {
      starts.push(await timed(() => client.call('startPool', { params: { pool: 'nas' } })));
      await client.call('stopPool', { params: { pool: 'nas' } });
      mounts.push(await timed(() => run('mount', ['-t', 'nfs', '-o', 'nodev,nosuid,noexec', `127.0.0.1:${exported}`, mnt])));
      await run('umount', [mnt]);
    }
    rows.push({ operation: 'NFS pool start (mount; peer: mount -t nfs by hand)', kvmpool: median(starts), qemuImg: median(mounts) });
    await client.call('startPool', { params: { pool: 'nas' } });

    // The source: 1 GiB raw, 512 MiB of random data in runs.
    const src = path.join(local, 'pool', 'src.img');
    await client.call('createVolume', { params: { pool: 'local' }, body: { name: 'src.img', capacity: String(SIZE), format: 'raw' } });
    const chunk = randomFillSync(Buffer.alloc(64 * MiB));
    await writeFile(path.join(work, 'chunk'), chunk);
    for (let i = 0; i < WRITTEN / (64 * MiB); i++) await run('dd', [`if=${path.join(work, 'chunk')}`, `of=${src}`, 'bs=64M', 'count=1', `seek=${i * 2}`, 'conv=notrunc', 'status=none']);

    const onNas = path.join(work, 'nas');
    const copyIn = await timed(() => job(client.call('cloneVolume', { params: { pool: 'local', volume: 'src.img' }, body: { name: 'copy.img', pool: 'nas' } })));
    const peerIn = await timed(() => run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', '-t', 'none', src, path.join(onNas, 'peer.img')], { timeoutMs: 600_000 }));
    rows.push({ operation: 'copy 1 GiB raw (512 MiB written) into an NFS pool', kvmpool: copyIn, qemuImg: peerIn });

    // The CLI as users run it (the bin file itself); its start-up alone is measured too (node starts slowly in the test host).
    const cli = path.join(PACKAGE_ROOT, 'bin', 'kvmpool.js');
    const k = (...args: string[]) => run(cli, ['--home', daemon.paths.home, ...args], { timeoutMs: 600_000 });
    const startup = await timed(() => k('--version'));
    const back = path.join(work, 'back.img');
    const down = await timed(() => k('vol', 'download', 'nas/copy.img', back, '--sparse'));
    await rm(back);
    const peerDown = await timed(() => run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', path.join(onNas, 'copy.img'), back], { timeoutMs: 600_000 }));
    await rm(back);
    rows.push({ operation: 'download 1 GiB raw (512 MiB written) from an NFS pool, sparse (CLI)', kvmpool: down, kvmpoolNote: `CLI start-up alone ${startup.toFixed(2)} s`, qemuImg: peerDown });

    await rm(path.join(onNas, 'peer.img'));
    await client.call('deleteVolume', { params: { pool: 'nas', volume: 'copy.img' } });
    await client.call('stopPool', { params: { pool: 'nas' } });
    process.stdout.write(`BENCH-NETFS ${JSON.stringify({ rows, kernel: (await readFile('/proc/version', 'utf8')).split(' ')[2] })}\n`);
  } finally {
    await daemon.close();
    await run('umount', ['-l', mnt]).catch(() => undefined);
    await run('umount', ['-l', path.join(work, 'nas')]).catch(() => undefined);
    await run('umount', [local]).catch(() => undefined);
    await nfs.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`netfs bench failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exitCode = 1;
});
