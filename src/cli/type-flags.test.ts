import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readTypeFlags, type TypeFlag } from './type-flags.js';

const flags: TypeFlag[] = [
  { field: 'portals', flag: 'portal', kind: 'list', description: '' },
  { field: 'iqn', flag: 'iqn', kind: 'text', description: '' },
  { field: 'chapSecret', flag: 'secret-file', kind: 'secret', description: '' },
  { field: 'thin', flag: 'thin', kind: 'boolean', description: '' },
];

test('type flags: lists comma-separated or repeated, a secret from its file, booleans', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kvmpool-flags-'));
  try {
    await writeFile(path.join(dir, 's'), 'top-secret\n');
    const out = await readTypeFlags(['--portal', 'a:3260,b', '--portal', 'c', '--iqn', 'iqn.x', '--secret-file', path.join(dir, 's'), '--thin'], flags, 'iscsi pools');
    assert.deepEqual(out, { portals: ['a:3260', 'b', 'c'], iqn: 'iqn.x', chapSecret: 'top-secret', thin: true });
    await assert.rejects(readTypeFlags(['--nope', 'x'], flags, 'iscsi pools'), /iscsi pools take: --portal, --iqn, --secret-file, --thin/);
    await assert.rejects(readTypeFlags(['--secret-file', path.join(dir, 'missing')], flags, 'iscsi pools'), { code: 'NOT_FOUND' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
