import { stat } from 'node:fs/promises';
import { KvmpoolError } from '../../../model/errors.js';
import type { VolumeFacts, WipeAlgorithm } from '../../../model/volume-types.js';
import { fallocate } from '../../../host/fallocate.js';
import { fillRange, readRange } from '../../../host/file-io.js';
import * as qemuImg from '../../../host/qemu-img.js';
import type { OpContext } from '../../../model/op-context.js';

/**
 * Wipes a file volume. Raw: `zero` zeroes in place with fallocate (zero-range keeps a preallocated
 * volume allocated, punch-hole keeps a sparse one sparse) and writes zeros where the file system has
 * neither; `discard` punches holes; `random` writes random bytes. qcow2: the file's bytes get the same
 * treatment, then an empty qcow2 of the same size and cluster size is written over it (so the guest
 * reads zeros). `verify` reads back: zeros, the random bytes written, or a qcow2 with no data.
 */
export async function wipeFileVolume(vol: VolumeFacts, algorithm: WipeAlgorithm, verify: boolean, ctx: OpContext): Promise<void> {
  const fileSize = (await stat(vol.path)).size;
  const total = verify ? fileSize * 2 : fileSize;
  if (vol.format === 'qcow2') {
    const image = await qemuImg.info(vol.path, 'qcow2');
    const spec: qemuImg.CreateSpec = { path: vol.path, format: 'qcow2', size: vol.capacity, prealloc: 'off' };
    if (image.clusterSize !== undefined) spec.clusterSize = image.clusterSize;
    try {
      await overwrite(vol, fileSize, algorithm, ctx);
    } finally {
      // Even a cancelled wipe leaves a valid (empty) qcow2, never a file of garbage.
      await qemuImg.create(spec);
    }
    if (verify) {
      const data = (await qemuImg.map(vol.path, 'qcow2', { signal: ctx.signal })).filter((e) => e.data);
      if (data.length > 0) throw verifyFailed(vol, `${data.length} extent(s) still hold data`);
    }
    ctx.progress(total, total);
    return;
  }
  const written = await overwrite(vol, fileSize, algorithm, ctx);
  if (verify) {
    const back = await readRange(vol.path, 0, fileSize, ctx.signal, (d) => ctx.progress(fileSize + d, total));
    if (algorithm === 'random' ? back.sha256 !== written : !back.allZero) throw verifyFailed(vol, algorithm === 'random' ? 'the bytes read back differ from those written' : 'non-zero bytes read back');
  }
  ctx.progress(total, total);
}

/** Applies the algorithm to the file's bytes; returns the sha256 of random bytes written. */
async function overwrite(vol: VolumeFacts, size: number, algorithm: WipeAlgorithm, ctx: OpContext): Promise<string | undefined> {
  const progress = (d: number) => ctx.progress(d, size);
  if (size === 0) return undefined;
  if (algorithm === 'random') return fillRange(vol.path, 0, size, 'random', ctx.signal, progress);
  if (algorithm === 'discard') {
    await fallocate('punch', vol.path, 0, size, { signal: ctx.signal });
    return undefined;
  }
  const preallocated = vol.allocation >= size;
  try {
    await fallocate(preallocated ? 'zero' : 'punch', vol.path, 0, size, { signal: ctx.signal });
  } catch (e) {
    if (!(e instanceof KvmpoolError && e.code === 'NOT_SUPPORTED')) throw e;
    ctx.log(`fallocate is not supported here: writing zeros`);
    await fillRange(vol.path, 0, size, 'zero', ctx.signal, progress);
  }
  return undefined;
}

function verifyFailed(vol: VolumeFacts, why: string): KvmpoolError {
  return new KvmpoolError('HOST_COMMAND_FAILED', `wipe of ${vol.name} did not verify: ${why}`, { volume: vol.name });
}
