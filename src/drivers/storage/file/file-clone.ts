import { constants } from 'node:fs';
import { copyFile, open, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { PoolTraits } from '../../../model/capabilities.js';
import type { VolumeFacts } from '../../../model/types.js';
import * as qemuImg from '../../../host/qemu-img.js';
import type { CloneTarget, CopySource, OpContext } from '../driver.js';
import { publishPart } from './file-volumes.js';

/** Probes what the file system under `dir` can do: share extents (FICLONE) and O_DIRECT. */
export async function probeFileTraits(dir: string): Promise<PoolTraits> {
  const probe = path.join(dir, `.kvmpool-probe-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(probe, randomBytes(4096));
    const reflink = await copyFile(probe, `${probe}.clone`, constants.COPYFILE_FICLONE_FORCE).then(
      () => true,
      () => false,
    );
    const directIO = await open(probe, constants.O_RDWR | constants.O_DIRECT).then(
      async (fh) => (await fh.close(), true),
      () => false,
    );
    return { reflink, directIO };
  } finally {
    await rm(probe, { force: true });
    await rm(`${probe}.clone`, { force: true });
  }
}

/**
 * Instant clones: `reflink` shares the source's extents (the clone's allocation is the source's, with
 * no data copied); `linked` makes a qcow2 overlay whose backing file is the source, by relative name.
 */
export async function cloneFileVolume(dir: string, source: VolumeFacts, target: CloneTarget, method: 'reflink' | 'linked', ctx: OpContext): Promise<VolumeFacts> {
  return publishPart(dir, target.name, target.format, async (part) => {
    if (method === 'reflink') await copyFile(source.path, part, constants.COPYFILE_FICLONE_FORCE);
    else await qemuImg.createOverlay(part, source.name, source.format, source.capacity, { signal: ctx.signal });
  });
}

/** A full copy through qemu-img convert: holes and zero runs stay sparse; progress in bytes of the source. */
export async function copyFileVolume(dir: string, source: CopySource, target: CloneTarget, traits: PoolTraits, ctx: OpContext): Promise<VolumeFacts> {
  return publishPart(dir, target.name, target.format, async (part) => {
    ctx.progress(0, source.capacity);
    const spec = { source: source.path, sourceFormat: source.format, target: part, targetFormat: target.format, direct: traits.directIO };
    await qemuImg.convert(spec, (p) => ctx.progress(Math.round((p / 100) * source.capacity), source.capacity), { signal: ctx.signal });
    ctx.progress(source.capacity, source.capacity);
  });
}
