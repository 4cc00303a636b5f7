import { KvmpoolError } from '../../../model/errors.js';
import type { VolumeFacts, WipeAlgorithm } from '../../../model/volume-types.js';
import { run } from '../../../host/exec.js';
import { fillRange, readRange } from '../../../host/file-io.js';
import * as qemuImg from '../../../host/qemu-img.js';
import type { CopySource, OpContext } from '../driver.js';

/** Data work on volumes that are block devices (LVs, partitions), shared by the logical and disk drivers. */

const LONG = 24 * 3600_000;

/**
 * Wipes a block device volume: `zero` writes zeros through the kernel (BLKZEROOUT), or discards where
 * discarded blocks read as zeros (`discardZeroes`: a thin LV gives them back to its pool); `discard`
 * discards; `random` writes random bytes. `verify` reads the whole volume back.
 */
export async function wipeBlockVolume(vol: VolumeFacts, algorithm: WipeAlgorithm, verify: boolean, discardZeroes: boolean, ctx: OpContext): Promise<void> {
  const size = vol.capacity;
  const total = verify ? size * 2 : size;
  let written: string | undefined;
  if (algorithm === 'random') written = await fillRange(vol.path, 0, size, 'random', ctx.signal, (d) => ctx.progress(d, total));
  else if (algorithm === 'discard' || discardZeroes) await run('blkdiscard', [vol.path], { timeoutMs: LONG, signal: ctx.signal });
  else await run('blkdiscard', ['--zeroout', vol.path], { timeoutMs: LONG, signal: ctx.signal });
  if (verify) {
    const back = await readRange(vol.path, 0, size, ctx.signal, (d) => ctx.progress(size + d, total));
    const ok = algorithm === 'random' ? back.sha256 === written : algorithm === 'discard' || back.allZero;
    if (!ok) throw new KvmpoolError('HOST_COMMAND_FAILED', `wipe of ${vol.name} did not verify`, { volume: vol.name });
  }
  ctx.progress(total, total);
}

/** Zeroes `[from, to)` of a block device: the unaligned head by writing, the rest with BLKZEROOUT. */
export async function zeroRange(device: string, from: number, to: number): Promise<void> {
  if (from >= to) return;
  const aligned = Math.min(Math.ceil(from / 4096) * 4096, to);
  if (aligned > from) await fillRange(device, from, aligned - from, 'zero', new AbortController().signal, () => {});
  if (aligned < to) await run('blkdiscard', ['--zeroout', '--offset', String(aligned), '--length', String(to - aligned), device], { timeoutMs: LONG });
}

/** Copies a source (any format qemu-img reads) into an existing block device, in place and with O_DIRECT. */
export async function convertInto(source: CopySource, device: string, targetIsZero: boolean, ctx: OpContext): Promise<void> {
  ctx.progress(0, source.capacity);
  const spec = { source: { access: source.access.access, format: source.format }, target: device, targetFormat: 'raw' as const, direct: true, existing: true, targetIsZero };
  await qemuImg.convert(spec, (p) => ctx.progress(Math.round((p / 100) * source.capacity), source.capacity), { signal: ctx.signal });
  ctx.progress(source.capacity, source.capacity);
}
