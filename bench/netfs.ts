/**
 * The network storage section of the benchmark: this machine's kernel has no NFS client, so it runs
 * in the test host (user-mode Linux, see test/testhost), where bench/netfs-inside.ts serves NFS over lo
 * and measures kvmpool beside qemu-img and a mount by hand. libvirt does not run in the test host: its
 * column stays empty. Timings there are slower than on the machine; the ratios of one run are what count.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { runInTestHost, testHostDisks, testHostMissing } from '../test/testhost/testhost.js';
import type { Row } from './table.js';

const GiB = 1024 ** 3;

/** The rows measured in the test host, or why there are none. */
export async function netfsRows(): Promise<{ rows: Row[]; kernel: string } | { missing: string }> {
  const missing = await testHostMissing();
  if (missing) return { missing };
  // Not under /var: the test host keeps its /var to itself (an overlay), and its output is read from here.
  const work = await mkdtemp(path.join(os.tmpdir(), 'kvmpool-bench-netfs-'));
  try {
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'netfs-inside.js');
    const result = await runInTestHost({
      work,
      disks: [3 * GiB, 3 * GiB],
      memory: '1536M',
      timeoutMs: 20 * 60_000,
      command: ['/usr/bin/env', `KVMPOOL_TEST_DISKS=${testHostDisks(2).join(',')}`, process.execPath, script],
    });
    const line = result.output.split('\n').find((l) => l.startsWith('BENCH-NETFS '));
    if (result.status !== 0 || !line) throw new Error(`the network storage bench failed in the test host:\n${result.output}`);
    return JSON.parse(line.slice('BENCH-NETFS '.length)) as { rows: Row[]; kernel: string };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The section's table in markdown. */
export function netfsTable(measured: { rows: Row[]; kernel: string } | { missing: string }): string[] {
  if ('missing' in measured) return [`Network storage: not measured (${measured.missing}).`];
  const s = (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(2)} s`);
  return [
    `Network storage, in the test host (user-mode Linux ${measured.kernel}: an NFS 4.2 server over lo, the pool's files on ext4; libvirt does not run there):`,
    '',
    '| operation | kvmpool | peer (qemu-img; mount by hand) | peer / kvmpool |',
    '|---|---|---|---|',
    ...measured.rows.map((r) => `| ${r.operation} | ${s(r.kvmpool)}${r.kvmpoolNote ? ` (${r.kvmpoolNote})` : ''} | ${s(r.qemuImg)} | ${r.qemuImg === undefined ? '-' : `${(r.qemuImg / r.kvmpool).toFixed(1)}x`} |`),
  ];
}
