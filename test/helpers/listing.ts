import assert from 'node:assert/strict';
import type { VolumeBody } from '../../src/api/schemas.js';
import type { TestDaemon } from './daemon.js';

/**
 * Polls a pool's listing (never refreshing it) until `check` holds; fails after `seconds`. What a
 * pool's change signal brings shows this way, as a user who lists again sees it.
 */
export async function listedUntil(t: Pick<TestDaemon, 'client'>, pool: string, what: string, check: (vols: VolumeBody[]) => boolean, seconds = 20): Promise<VolumeBody[]> {
  for (const started = Date.now(); ; ) {
    const vols = await t.client.call('listVolumes', { params: { pool } });
    if (check(vols)) return vols;
    if (Date.now() - started > seconds * 1000) assert.fail(`${what}: not in the listing after ${seconds} s: ${vols.map((v) => `${v.name} ${v.capacity}`).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
