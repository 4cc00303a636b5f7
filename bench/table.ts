import os from 'node:os';
import { formatSize } from '../src/model/sizes.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** One row of the transfer table: kvmpool's time beside qemu-img's and libvirt's for the same work. */
export interface Row {
  operation: string;
  kvmpool: number;
  kvmpoolNote?: string;
  qemuImg?: number;
  libvirt?: number;
  libvirtNote?: string;
  allocated?: string;
}
/** The rows measured so far. */
const rows: Row[] = [];
/** Adds a row (and says it on stderr as it comes). */
export const report = (r: Row) => {
  rows.push(r);
  process.stderr.write(`  ${r.operation}: kvmpool ${r.kvmpool.toFixed(2)} s, qemu-img ${r.qemuImg?.toFixed(2) ?? '-'} s, libvirt ${r.libvirt?.toFixed(2) ?? '-'} s\n`);
};

/** Prints the transfer table in markdown, with the floors measured in the same run. */
export function print(haveLibvirt: boolean, floor: { disk: number; sha256: number } | undefined): void {
  const s = (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(2)} s`);
  const ratio = (peer: number | undefined, ours: number) => (peer === undefined ? '-' : `${(peer / ours).toFixed(1)}x`);
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    `Machine: ${os.cpus().length} cores (${cpu}), ${formatSize(os.totalmem())} memory, Linux ${os.release()}; ${new Date().toISOString().slice(0, 10)}`,
    '',
    `| operation | kvmpool | qemu-img | kvmpool vs qemu-img | libvirt ${haveLibvirt ? '(virsh)' : '(absent)'} | kvmpool vs libvirt | allocated after (kvmpool / qemu-img / libvirt) |`,
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.operation} | ${s(r.kvmpool)}${r.kvmpoolNote ? ` (${r.kvmpoolNote})` : ''} | ${s(r.qemuImg)} | ${ratio(r.qemuImg, r.kvmpool)} | ${haveLibvirt ? `${s(r.libvirt)}${r.libvirtNote ? ` (${r.libvirtNote})` : ''}` : 'absent'} | ${ratio(r.libvirt, r.kvmpool)} | ${r.allocated ?? '-'} |`,
    ),
    '',
    'Ratios are peer time / kvmpool time: above 1x, kvmpool is faster.',
    ...(floor
      ? [
          '',
          `Floors measured in the same run: copying 1 GiB of data between two files of the ext4 file system with dd (O_DIRECT at both ends) takes ${floor.disk.toFixed(2)} s (${Math.round(GiB / MiB / floor.disk)} MiB/s); sha256 runs at ${Math.round(floor.sha256 / MiB)} MiB/s on one core, so the digest of a 2 GiB volume alone takes ${((2 * GiB) / floor.sha256).toFixed(2)} s.`,
        ]
      : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

