import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Prefix of everything tests create, so a run can sweep what an earlier one left. */
export const TEST_PREFIX = 'kvmpool-test-';

/**
 * A fresh temporary directory (short path: unix sockets live in it) and its removal. Its name carries
 * the test process's pid, so a later run sweeps it only once that process is gone.
 */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `${TEST_PREFIX}${process.pid}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
