import type { TestContext } from 'node:test';

/**
 * For a test that needs something a developer's machine may lack: when `missing` gives a reason, the
 * test is marked skipped and this returns true (the test returns at once). Under CI (CI=true), where
 * scripts/setup.sh installed everything, a missing requirement fails the test with its reason instead.
 */
export function skipWhenMissing(t: TestContext, missing: string | undefined): boolean {
  if (missing === undefined) return false;
  if (process.env['CI'] === 'true') throw new Error(`cannot run: ${missing} (under CI=true this is a failure, not a skip)`);
  t.skip(missing);
  return true;
}
