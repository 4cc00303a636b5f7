import { run } from '../../../src/host/exec.js';

/** The test host's disks (/dev/ubdb, ...), as the harness attached them. */
export function disks(): string[] {
  const list = (process.env['KVMPOOL_TEST_DISKS'] ?? '').split(',').filter((d) => d !== '');
  if (list.length === 0) throw new Error('KVMPOOL_TEST_DISKS is not set: this file runs inside the test host');
  return list;
}

/** Removes every VG on the disks and wipes them, so each test starts from blank disks. */
export async function blankDisks(devices: string[] = disks()): Promise<void> {
  const { stdout } = await run('lvm', ['vgs', '--noheadings', '-o', 'vg_name']);
  for (const vg of stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '')) {
    await run('lvm', ['vgremove', '--yes', '--force', vg]).catch(() => undefined);
  }
  for (const d of devices) {
    await run('lvm', ['pvremove', '--yes', '--force', '--force', d]).catch(() => undefined);
    await run('wipefs', ['--all', '--quiet', d]).catch(() => undefined);
    // Partitions of a wiped table go from the kernel too.
    await run('partx', ['--delete', d]).catch(() => undefined);
  }
}
