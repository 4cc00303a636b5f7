import { link, lstat, open, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { errors } from '../../../model/errors.js';
import type { OpContext } from '../../../model/op-context.js';
import { Reverter } from '../../../model/reverter.js';

/**
 * A volume file being made lives under a hidden part name (`.NAME.kvmpool-part`) and appears under its
 * name only when complete (link + unlink, which never replaces an existing file). Volume names cannot
 * start with '.', so hidden files are never listed as volumes.
 */

/** Mode of image files kvmpool creates: only root (and qemu running as root) reads VM disks. */
export const VOLUME_MODE = 0o600;

/** Path of a volume's file while it is being made. */
export function partPath(dir: string, name: string): string {
  return path.join(dir, `.${name}.kvmpool-part`);
}

/**
 * Makes a new volume file appear whole or not at all: `fill` writes it at the hidden part path; then
 * the file gets the volume mode, is synced, and is linked under its name (never replacing a file). On
 * any failure the part file is removed (a failed removal is logged). Returns the file's path.
 */
export async function publishPart(dir: string, name: string, ctx: Pick<OpContext, 'log'>, fill: (part: string) => Promise<void>): Promise<string> {
  const final = path.join(dir, name);
  if (await exists(final)) throw errors.exists('volume', name);
  const part = partPath(dir, name);
  await rm(part, { force: true });
  await Reverter.run(ctx.log, async (r) => {
    r.add(`remove ${part}`, () => rm(part, { force: true }));
    await fill(part);
    const fh = await open(part, 'r');
    try {
      await fh.chmod(VOLUME_MODE);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await link(part, final).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'EEXIST' ? errors.exists('volume', name) : e;
    });
  });
  await unlink(part);
  return final;
}

/** Removes what an interrupted create left behind. */
export async function discardPart(dir: string, name: string): Promise<void> {
  await rm(partPath(dir, name), { force: true });
}

export async function exists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    () => false,
  );
}
