import { chmod, open, rename, truncate } from 'node:fs/promises';
import { detectFormat, MAGIC_BYTES } from '../../../host/image-magic.js';
import path from 'node:path';
import { KvmpoolError } from '../../../model/errors.js';
import type { VolumeFacts } from '../../../model/volume-types.js';
import * as qemuImg from '../../../host/qemu-img.js';
import type { Extent } from '../../../transfer/sparse-reader.js';
import { localStage, type UploadStage } from '../driver.js';
import { partPath } from './file-part.js';
import { backingInside, readOwnFileVolume } from './file-volumes.js';

/** Where the file's data is (holes found with SEEK_DATA/SEEK_HOLE by qemu-img map on the file's bytes). */
export async function fileDataExtents(vol: VolumeFacts): Promise<Extent[]> {
  return (await qemuImg.map(vol.path, 'raw')).map((e) => ({ start: e.start, length: e.length, data: e.data }));
}

/** Where a whole-volume upload is written before it replaces the volume: a new hidden file. */
export function fileUploadStage(dir: string, vol: VolumeFacts): UploadStage {
  return { access: { kind: 'file', path: partPath(dir, vol.name) }, create: true, zeroHoles: false };
}

function refuse(message: string, details: Record<string, unknown> = {}): KvmpoolError {
  return new KvmpoolError('INVALID_ARGUMENT', message, details);
}

/**
 * Validates an uploaded image and makes it the volume. It must open as the volume's format (given
 * explicitly); a qcow2 must pass qemu-img check and may only have a backing file that is a volume of
 * this pool with a recorded format (never an absolute path elsewhere, `json:` or a protocol); its size
 * must fit the capacity unless `grow`. A smaller image is grown to the capacity. Then it replaces the
 * volume file in one rename. The caller removes the staged file when this throws.
 */
export async function commitFileUpload(dir: string, vol: VolumeFacts, stage: UploadStage, end: number, grow: boolean): Promise<VolumeFacts> {
  const staged = localStage(stage).access.path;
  const head = Buffer.alloc(MAGIC_BYTES);
  const fh = await open(staged, 'r');
  await fh.read(head, 0, MAGIC_BYTES, 0).finally(() => fh.close());
  const detected = detectFormat(head);
  if (detected !== vol.format) throw refuse(`the upload is a ${detected} image but the volume is ${vol.format}`, { detected, format: vol.format });
  if (vol.format === 'raw') {
    if (end > vol.capacity && !grow) throw refuse(`the upload is ${end} bytes, larger than the volume (${vol.capacity}): pass --grow`);
    await truncate(staged, Math.max(end, vol.capacity));
  } else {
    const image = await qemuImg.info(staged, vol.format).catch((e: unknown) => {
      throw refuse(`the upload is not a valid ${vol.format} image`, { cause: e instanceof Error ? e.message : String(e) });
    });
    if (image.dataFile !== undefined) throw refuse(`the uploaded image keeps its data in the external file '${image.dataFile}': refused`, { dataFile: image.dataFile });
    if (image.backingFilename !== undefined) {
      if (!(await backingInside(dir, image.backingFilename)) || image.backingFormat === undefined) {
        throw refuse(`the uploaded image's backing file '${image.backingFilename}' is not a volume of this pool: refused`, { backingFile: image.backingFilename });
      }
    }
    if (vol.format === 'qcow2') {
      const check = await qemuImg.check(staged);
      if (check.corruptions > 0 || check.checkErrors > 0) throw refuse('the uploaded qcow2 image is corrupt (qemu-img check)', { ...check });
    }
    if (image.virtualSize > vol.capacity && !grow) throw refuse(`the uploaded image is ${image.virtualSize} bytes, larger than the volume (${vol.capacity}): pass --grow`);
    if (image.virtualSize < vol.capacity) await qemuImg.resize(staged, vol.format, vol.capacity, false);
  }
  await chmod(staged, 0o600);
  await rename(staged, path.join(dir, vol.name));
  return readOwnFileVolume(dir, vol.name, vol.format);
}
