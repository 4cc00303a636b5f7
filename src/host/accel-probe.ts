import { access, constants, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KvmpoolError } from '../model/errors.js';
import { HostCommandError, run } from './exec.js';

/** The code of the probe boot sector; accel-probe.S is its source. */
export const PROBE_CODE =
  'fa31c08ed80f0116c87c0f20c06683c8010f22c0ea197c080066b810008ed88ed0bf00100000c70703200000c7470400000000c787001000000330' +
  '0000c7870410000000000000c7870020000083000000c78704200000000000000f22df0f20e083c8200f22e0b9800000c00f320d000100000f30' +
  '0f20c00d000000800f22c0ea877c00001800ba40000000bf00001000b90000100031c0f3aaffca75eeb042e6f4f48d742600900000000000000000' +
  'ffff0000009acf00ffff00000092cf00ffff0000009aaf001f00a87c';

/** qemu's exit status when the probe ends through isa-debug-exit (0x42 << 1 | 1). */
const PROBE_EXIT = 133;
/** A working KVM runs the probe in well under a second (qemu's start included). */
const PROBE_LIMIT_MS = 5000;

/** The probe as a 512-byte boot sector. */
export function probeImage(): Buffer {
  const img = Buffer.alloc(512);
  Buffer.from(PROBE_CODE, 'hex').copy(img);
  img[510] = 0x55;
  img[511] = 0xaa;
  return img;
}

/** Which accelerator VMs get, and why. */
export interface AcceleratorChoice {
  accelerator: 'kvm' | 'tcg';
  reason: string;
}

/**
 * KVM when /dev/kvm is there and runs the probe in time, else TCG. The probe is bounded: a KVM that
 * stalls (seen on nested hosts, where guests start but crawl) costs at most PROBE_LIMIT_MS.
 */
export async function detectAccelerator(qemu: string): Promise<AcceleratorChoice> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accelerator: 'tcg', reason: 'no usable /dev/kvm' };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kvmpool-accel-'));
  let limit: NodeJS.Timeout | undefined;
  try {
    const image = path.join(dir, 'probe.img');
    await writeFile(image, probeImage());
    const argv = ['-accel', 'kvm', '-machine', 'pc', '-m', '32', '-nodefaults', '-no-user-config', '-display', 'none',
      '-drive', `file=${image.replace(/,/g, ',,')},format=raw,if=ide`, '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'];
    const started = performance.now();
    // A hard limit besides run()'s own: a qemu stuck in the kernel cannot be killed, and never closes.
    const stuck = new Promise<never>((_, reject) => {
      limit = setTimeout(() => reject(new KvmpoolError('HOST_COMMAND_TIMEOUT', 'the probe is stuck')), PROBE_LIMIT_MS + 2000);
    });
    try {
      await Promise.race([run(qemu, argv, { timeoutMs: PROBE_LIMIT_MS, killGraceMs: 500 }), stuck]);
    } catch (e) {
      if (e instanceof KvmpoolError && e.code === 'HOST_COMMAND_TIMEOUT' && !(e instanceof HostCommandError)) {
        return { accelerator: 'tcg', reason: 'KVM got stuck in the probe' };
      }
      if (e instanceof HostCommandError && e.details.exitCode === PROBE_EXIT) {
        return { accelerator: 'kvm', reason: `KVM ran the probe in ${Math.round(performance.now() - started)} ms` };
      }
      if (e instanceof HostCommandError && e.code === 'HOST_COMMAND_TIMEOUT') {
        return { accelerator: 'tcg', reason: `KVM did not finish the probe in ${PROBE_LIMIT_MS / 1000} s` };
      }
      return { accelerator: 'tcg', reason: `KVM failed: ${e instanceof Error ? e.message : String(e)}` };
    }
    return { accelerator: 'tcg', reason: 'KVM ended the probe without running it' };
  } finally {
    clearTimeout(limit);
    await rm(dir, { recursive: true, force: true });
  }
}
