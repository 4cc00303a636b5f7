import { constants } from 'node:fs';
import { chmod, copyFile, link, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { KvmpoolError, errors } from '../../../model/errors.js';
import type { SnapshotInfo, VolumeFacts } from '../../../model/volume-types.js';
import { readQcow2Snapshots } from '../../../host/qcow2-header.js';
import * as qemuImg from '../../../host/qemu-img.js';
import type { OpContext } from '../../../model/op-context.js';
import { partPath } from './file-part.js';

/**
 * Volume snapshots of file pools. qcow2 volumes keep internal snapshots (qemu-img snapshot). Raw
 * volumes on reflink file systems keep each snapshot as a hidden reflink copy next to the volume,
 * `.VOLUME@SNAP.kvmpool-snap`, which shares all unchanged extents with it.
 */

const SNAP_SUFFIX = '.kvmpool-snap';

/** Path of a raw volume's reflink snapshot. */
export function snapshotPath(dir: string, volume: string, snap: string): string {
  return path.join(dir, `.${volume}@${snap}${SNAP_SUFFIX}`);
}

/** Names of the reflink snapshots of each volume, from a directory listing. */
export function reflinkSnapshotsByVolume(entries: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of entries) {
    if (!e.startsWith('.') || !e.endsWith(SNAP_SUFFIX)) continue;
    const body = e.slice(1, -SNAP_SUFFIX.length);
    const at = body.lastIndexOf('@');
    if (at <= 0) continue;
    const vol = body.slice(0, at);
    out.set(vol, [...(out.get(vol) ?? []), body.slice(at + 1)]);
  }
  return out;
}

/** Reflink snapshot names of one volume. */
export async function reflinkSnapshotNames(dir: string, volume: string): Promise<string[]> {
  return reflinkSnapshotsByVolume(await readdir(dir)).get(volume) ?? [];
}

export async function listFileSnapshots(dir: string, vol: VolumeFacts): Promise<SnapshotInfo[]> {
  if (vol.format === 'qcow2') {
    return (await readQcow2Snapshots(vol.path)).map((s) => ({
      name: s.name,
      created: new Date(s.dateSec * 1000).toISOString(),
      capacity: s.diskSize || vol.capacity,
      kind: 'internal' as const,
    }));
  }
  const names = await reflinkSnapshotNames(dir, vol.name);
  const snaps = await Promise.all(
    names.map(async (name) => {
      const st = await stat(snapshotPath(dir, vol.name, name));
      const born = st.birthtimeMs > 0 ? st.birthtime : st.mtime;
      return { name, created: born.toISOString(), capacity: st.size, allocation: st.blocks * 512, kind: 'reflink' as const };
    }),
  );
  return snaps.sort((a, b) => a.created.localeCompare(b.created) || a.name.localeCompare(b.name));
}

export async function createFileSnapshot(dir: string, vol: VolumeFacts, name: string, ctx: OpContext): Promise<SnapshotInfo> {
  const existing = await listFileSnapshots(dir, vol);
  if (existing.some((s) => s.name === name)) throw errors.exists('snapshot', `${vol.name}@${name}`);
  if (vol.format === 'qcow2') {
    await qemuImg.snapshot('create', vol.path, name, { signal: ctx.signal });
  } else {
    // Clone to a part name, then link: a snapshot appears whole or not at all.
    const target = snapshotPath(dir, vol.name, name);
    const part = `${target}-part`;
    try {
      await copyFile(vol.path, part, constants.COPYFILE_FICLONE_FORCE);
      await chmod(part, 0o600);
      await link(part, target);
    } finally {
      await rm(part, { force: true });
    }
  }
  const created = (await listFileSnapshots(dir, vol)).find((s) => s.name === name);
  if (!created) throw new KvmpoolError('INTERNAL', `snapshot ${vol.name}@${name} was not found after creating it`);
  return created;
}

/** Reverts to a snapshot. A raw volume's file is replaced by a reflink of the snapshot (its identity changes). */
export async function revertFileSnapshot(dir: string, vol: VolumeFacts, name: string, ctx: OpContext): Promise<void> {
  await requireSnapshot(dir, vol, name);
  if (vol.format === 'qcow2') {
    await qemuImg.snapshot('revert', vol.path, name, { signal: ctx.signal });
    return;
  }
  const part = partPath(dir, vol.name);
  try {
    await copyFile(snapshotPath(dir, vol.name, name), part, constants.COPYFILE_FICLONE_FORCE);
    await chmod(part, 0o600);
    await rename(part, vol.path);
  } finally {
    await rm(part, { force: true });
  }
}

export async function deleteFileSnapshot(dir: string, vol: VolumeFacts, name: string, ctx: OpContext): Promise<void> {
  await requireSnapshot(dir, vol, name);
  if (vol.format === 'qcow2') await qemuImg.snapshot('delete', vol.path, name, { signal: ctx.signal });
  else await unlink(snapshotPath(dir, vol.name, name));
}

/** Removes every reflink snapshot of a volume (the volume is being deleted). */
export async function dropReflinkSnapshots(dir: string, volume: string): Promise<void> {
  for (const snap of await reflinkSnapshotNames(dir, volume)) await rm(snapshotPath(dir, volume, snap), { force: true });
}

/** Moves a volume's reflink snapshots along with a rename. */
export async function renameReflinkSnapshots(dir: string, from: string, to: string): Promise<void> {
  for (const snap of await reflinkSnapshotNames(dir, from)) await rename(snapshotPath(dir, from, snap), snapshotPath(dir, to, snap));
}

async function requireSnapshot(dir: string, vol: VolumeFacts, name: string): Promise<void> {
  if (!(await listFileSnapshots(dir, vol)).some((s) => s.name === name)) throw errors.notFound('snapshot', `${vol.name}@${name}`);
}
