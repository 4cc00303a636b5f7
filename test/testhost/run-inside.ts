import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { runInTestHost, testHostDisks } from './testhost.js';

const INSIDE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'inside');

/**
 * Runs a test file of test/testhost/inside in the test host with `disks` blank disk images (sizes in
 * bytes), and fails with its output unless all its tests pass. The file finds its disks in
 * KVMPOOL_TEST_DISKS.
 */
export async function runInsideTestHost(file: string, disks: number[], timeoutMs = 20 * 60_000): Promise<string> {
  const { dir, cleanup } = await tempDir();
  try {
    const result = await runInTestHost({
      work: dir,
      disks,
      memory: '1536M',
      timeoutMs,
      command: ['/usr/bin/env', `KVMPOOL_TEST_DISKS=${testHostDisks(disks.length).join(',')}`, process.execPath, '--test', '--test-concurrency=1', '--test-reporter=spec', path.join(INSIDE, file)],
    });
    assert.equal(result.status, 0, `${file} in the test host:\n${result.output}\n${result.status === -1 ? result.boot : ''}`);
    return result.output;
  } finally {
    await cleanup();
  }
}
