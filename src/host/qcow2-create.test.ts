import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { qcow2Layout } from './qcow2-create.js';
import { run } from './exec.js';

const cases = [
  { size: 10 * 1024 ** 3, clusterSize: 65536, lazyRefcounts: false },
  { size: 1024 ** 2, clusterSize: 65536, lazyRefcounts: true },
  { size: 3 * 1024 ** 4 + 512, clusterSize: 2 * 1024 * 1024, lazyRefcounts: false },
  { size: 512 * 1024 ** 2, clusterSize: 4096, lazyRefcounts: false },
  { size: 7 * 1024 ** 3, clusterSize: 65536, lazyRefcounts: true },
];

test('our empty qcow2 images are byte for byte what qemu-img creates', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), `kvmpool-test-${process.pid}-`));
  try {
    for (const c of cases) {
      const ours = path.join(dir, 'ours.qcow2');
      const theirs = path.join(dir, 'theirs.qcow2');
      const layout = qcow2Layout(c);
      assert.ok(layout, JSON.stringify(c));
      const fh = await open(ours, 'w');
      for (const w of layout.writes) await fh.write(w.data, 0, w.data.length, w.offset);
      await fh.truncate(layout.fileSize);
      await fh.close();
      const opts = `compat=1.1,cluster_size=${c.clusterSize}${c.lazyRefcounts ? ',lazy_refcounts=on' : ''}`;
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', opts, theirs, String(c.size)]);
      const [a, b] = await Promise.all([readFile(ours), readFile(theirs)]);
      assert.equal(a.length, b.length, `file size for ${JSON.stringify(c)}`);
      // qemu-img adds the optional feature-name table after the header; everything else must match.
      assert.ok(a.subarray(0, 112).equals(b.subarray(0, 112)), `header for ${JSON.stringify(c)}`);
      assert.ok(a.subarray(c.clusterSize).equals(b.subarray(c.clusterSize)), `metadata for ${JSON.stringify(c)}`);
      await run('qemu-img', ['check', '-q', '-f', 'qcow2', ours]);
      await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 9 0 128k', '-c', 'read -P 9 0 128k', ours]);
      await run('qemu-img', ['check', '-q', '-f', 'qcow2', ours]);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('layouts qemu-img would do differently are left to it', () => {
  assert.equal(qcow2Layout({ size: 10 * 1024 ** 4, clusterSize: 512, lazyRefcounts: false }), undefined);
  assert.equal(qcow2Layout({ size: 1024, clusterSize: 3000, lazyRefcounts: false }), undefined);
});
