import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { DISK_GUEST_SCRIPT, buildGuest, type Guest } from '../helpers/guest.js';
import { tempDir } from '../helpers/tmp.js';
import { runInTestHost, testHostDisks } from './testhost.js';

const INSIDE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'inside');

/**
 * Runs a test file of test/testhost/inside in the test host with `disks` blank disk images (sizes in
 * bytes), and fails with its output unless all its tests pass. The file finds its disks in
 * KVMPOOL_TEST_DISKS, and with `guest` the storage tests' guest (DISK_GUEST_SCRIPT) in KVMPOOL_TEST_GUEST.
 */
export async function runInsideTestHost(file: string, disks: number[], options: { timeoutMs?: number; guest?: boolean } = {}): Promise<string> {
  const { dir, cleanup } = await tempDir();
  let guest: Guest | undefined;
  try {
    guest = options.guest ? await buildGuest(DISK_GUEST_SCRIPT) : undefined;
    const given = guest ? JSON.stringify({ kernel: guest.kernel, initrd: guest.initrd, append: guest.append }) : '';
    const result = await runInTestHost({
      work: dir,
      disks,
      memory: '1536M',
      timeoutMs: options.timeoutMs ?? 20 * 60_000,
      command: ['/usr/bin/env', `KVMPOOL_TEST_DISKS=${testHostDisks(disks.length).join(',')}`, `KVMPOOL_TEST_GUEST=${given}`, process.execPath, '--test', '--test-concurrency=1', '--test-reporter=spec', path.join(INSIDE, file)],
    });
    assert.equal(result.status, 0, `${file} in the test host:\n${result.output}\n${result.status === -1 ? result.boot : ''}`);
    return result.output;
  } finally {
    await guest?.cleanup();
    await cleanup();
  }
}
