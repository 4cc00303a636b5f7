import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './exec.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { detectAccelerator, probeImage } from './accel-probe.js';

const source = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'host', 'accel-probe.S');

test('the probe boot sector is what accel-probe.S assembles to', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await run('as', ['--32', '-o', `${dir}/p.o`, source]);
    await run('ld', ['-m', 'elf_i386', '-Ttext', '0x7c00', '--oformat', 'binary', '-o', `${dir}/p.img`, `${dir}/p.o`]);
    assert.deepEqual(await readFile(`${dir}/p.img`), probeImage());
  } finally {
    await cleanup();
  }
});

test('accelerator detection answers in bounded time with a reason', async () => {
  const started = performance.now();
  const choice = await detectAccelerator('qemu-system-x86_64');
  assert.ok(performance.now() - started < 10_000);
  assert.ok(['kvm', 'tcg'].includes(choice.accelerator));
  assert.ok(choice.reason.length > 0);
});
