import { constants } from 'node:fs';
import { copyFile, open, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { PoolTraits } from '../../../model/capabilities.js';
import type { OpContext } from '../../../model/op-context.js';
import type { VolumeFacts } from '../../../model/volume-types.js';
import * as qemuImg from '../../../host/qemu-img.js';
import type { CloneMethod, CloneTarget, CopySource } from '../driver.js';
import { publishPart } from './file-part.js';
import { readOwnFileVolume } from './file-volumes.js';

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

/** Instant clones of image files in a pool's directory (its target): shared extents, or a qcow2 overlay. */
export const FILE_CLONE_METHODS: Readonly<Record<'reflink' | 'linked', CloneMethod<unknown>>> = {
  reflink: {
    summary: "shares the source's extents (xfs reflink=1, btrfs): instant, no data copied",
    format: 'source',
    clone: async (def, source, target, ctx) => {
      await publishPart(def.target, target.name, ctx, (part) => copyFile(source.path, part, constants.COPYFILE_FICLONE_FORCE));
      return readOwnFileVolume(def.target, target.name, target.format);
    },
  },
  linked: {
    summary: 'a qcow2 overlay backed by the source (by relative name): instant; the source then backs it',
    format: 'qcow2',
    clone: async (def, source, target, ctx) => {
      await publishPart(def.target, target.name, ctx, (part) => qemuImg.createOverlay(part, source.name, source.format, source.capacity, { signal: ctx.signal }));
      return readOwnFileVolume(def.target, target.name, target.format);
    },
  },
};

/** A full copy through qemu-img convert: holes and zero runs stay sparse; progress in bytes of the source. */
export async function copyIntoFile(dir: string, source: CopySource, target: CloneTarget, traits: PoolTraits, ctx: OpContext): Promise<VolumeFacts> {
  await publishPart(dir, target.name, ctx, async (part) => {
    ctx.progress(0, source.capacity);
    const spec = { source: { access: source.access.access, format: source.format }, target: part, targetFormat: target.format, direct: traits.directIO };
    await qemuImg.convert(spec, (p) => ctx.progress(Math.round((p / 100) * source.capacity), source.capacity), { signal: ctx.signal });
    ctx.progress(source.capacity, source.capacity);
  });
  return readOwnFileVolume(dir, target.name, target.format);
}
