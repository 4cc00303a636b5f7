import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, constants, readdir, readFile } from 'node:fs/promises';
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

/** qemu processes this test process started that still run (or wait to be reaped). */
async function qemuChildren(): Promise<string[]> {
  const out: string[] = [];
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === process.pid && comm.startsWith('qemu-system')) out.push(`${pid} ${comm}`);
  }
  return out;
}

test('accelerator detection answers with a reason that fits it, and leaves no probe running', async () => {
  const usable = await access('/dev/kvm', constants.R_OK | constants.W_OK).then(() => true, () => false);
  const choice = await detectAccelerator('qemu-system-x86_64');
  if (!usable) assert.deepEqual(choice, { accelerator: 'tcg', reason: 'no usable /dev/kvm' });
  else if (choice.accelerator === 'kvm') assert.match(choice.reason, /^KVM ran the probe in \d+ ms$/);
  else assert.match(choice.reason, /^KVM (did not finish the probe in \d+ s|got stuck in the probe|failed: .+|ended the probe without running it)$/);
  assert.deepEqual(await qemuChildren(), [], 'no probe qemu is left');
});
