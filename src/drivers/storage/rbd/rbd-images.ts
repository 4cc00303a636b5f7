import { errors } from '../../../model/errors.js';
import type { AccessInfo } from '../../../model/access.js';
import type { PoolDefinition } from '../../../model/pool-types.js';
import type { VolumeFacts } from '../../../model/volume-types.js';
import { Reverter } from '../../../model/reverter.js';
import { imageSpec, placeArgs, rbd, rbdJson, type RbdImageInfo, type RbdPlace, type RbdUsage } from '../../../host/rbd.js';
import * as qemuImg from '../../../host/qemu-img.js';
import type { CloneTarget, CopySource, OpContext, VolumeSpec } from '../driver.js';
import { checkRbdVolumeOptions, IMAGE_FEATURES, type RbdSource, type RbdVolumeOptionsT } from './rbd-settings.js';

export type Def = PoolDefinition<RbdSource>;

/** Where the pool's images are, and how to reach the cluster. */
export function placeOf(def: Def): RbdPlace {
  return { monitors: def.source.monitors, user: def.source.user, keyFile: def.secrets['key']!, pool: def.source.rbdPool, ...(def.source.namespace ? { namespace: def.source.namespace } : {}) };
}

/** Image metadata kvmpool sets on the images it makes (`rbd image-meta get IMAGE kvmpool.pool`). */
export const MARK_KEY = 'kvmpool.pool';

/** Snapshots kvmpool makes only to clone from and removes again at once (rbd-snapshots.ts, layeredClone): never the user's. */
export const CLONE_SNAPSHOT = 'kvmpool-clone-';
export const isCloneSnapshot = (name: string): boolean => name.startsWith(CLONE_SNAPSHOT);

/** An entry of `rbd ls -l --format json`: an image, or one of its snapshots (with `snapshot`). */
interface LongListing {
  image: string;
  id: string;
  size: number;
  snapshot?: string;
  parent?: { pool: string; pool_namespace: string; image: string; snapshot: string };
}

/** An image as a volume. Its parent (a layered clone's source) is its backing volume when in the same pool and namespace. */
function imageFacts(p: RbdPlace, name: string, id: string, size: number, used: number | undefined, snapshots: number, parent: LongListing['parent'], modified?: string): VolumeFacts {
  const here = parent !== undefined && parent.pool === p.pool && parent.pool_namespace === (p.namespace ?? '');
  return {
    name,
    path: imageSpec(p, name),
    format: 'raw',
    capacity: size,
    allocation: used ?? 0,
    identity: id,
    stamp: `${id}:${size}:${used ?? '?'}:${snapshots}:${modified ?? ''}`,
    snapshots,
    kind: 'image',
    ...(parent ? { backingFile: `${parent.pool}/${parent.pool_namespace ? `${parent.pool_namespace}/` : ''}${parent.image}`, backingFormat: 'raw' } : {}),
    ...(here ? { backingVolume: parent.image } : parent ? { backingOutsidePool: true } : {}),
  };
}

/**
 * Every image of the pool, with sizes, what each uses (object map and fast-diff make that cheap),
 * snapshot counts and parents: two calls, whatever the number of images.
 */
export async function listImages(def: Def): Promise<VolumeFacts[]> {
  const p = placeOf(def);
  const [entries, usage] = await Promise.all([
    rbdJson<LongListing[]>(p, ['ls', '-l', ...placeArgs(p)], `the images of ${p.pool}`),
    rbdJson<{ images: RbdUsage[] }>(p, ['du', ...placeArgs(p)], `the usage of ${p.pool}`),
  ]);
  const used = new Map<string, number>();
  for (const u of usage?.images ?? []) if (u.snapshot === undefined) used.set(u.name, u.used_size);
  const snapshots = new Map<string, number>();
  for (const e of entries ?? []) if (e.snapshot !== undefined && !isCloneSnapshot(e.snapshot)) snapshots.set(e.image, (snapshots.get(e.image) ?? 0) + 1);
  return (entries ?? []).filter((e) => e.snapshot === undefined).map((e) => imageFacts(p, e.image, e.id, e.size, used.get(e.image), snapshots.get(e.image) ?? 0, e.parent));
}

/** User snapshots of an image (those a clone v2 parent keeps in the trash namespace are not the user's). */
export async function userSnapshotCount(p: RbdPlace, name: string): Promise<number> {
  const snaps = await rbdJson<{ name: string; namespace?: { type: string } }[]>(p, ['snap', 'ls', imageSpec(p, name)], `image ${name}`);
  return (snaps ?? []).filter((s) => (s.namespace?.type ?? 'user') === 'user' && !isCloneSnapshot(s.name)).length;
}

/** One image as a volume; NOT_FOUND when there is none of that name. */
export async function imageInfo(def: Def, name: string): Promise<VolumeFacts> {
  const p = placeOf(def);
  const what = `image ${name}`;
  const [info, usage, snapshots] = await Promise.all([
    rbdJson<RbdImageInfo>(p, ['info', imageSpec(p, name)], what),
    rbdJson<{ images: RbdUsage[] }>(p, ['du', imageSpec(p, name)], what),
    userSnapshotCount(p, name),
  ]);
  const used = usage?.images.find((u) => u.snapshot === undefined)?.used_size;
  return imageFacts(p, info.name, info.id, info.size, used, snapshots, info.parent, info.modify_timestamp);
}

/** `rbd create` options of a spec: size in bytes, the layout and features asked (or the default set). */
function createArgs(spec: VolumeSpec<RbdVolumeOptionsT>): string[] {
  const objectSize = checkRbdVolumeOptions(spec.options);
  const features = spec.options.features ?? IMAGE_FEATURES;
  return ['--size', `${spec.capacity}B`, ...(objectSize ? ['--object-size', `${objectSize}B`] : []), '--image-feature', features.join(',')];
}

/** Makes an image, marked as kvmpool's; raw only, thin (RBD allocates as data is written). */
export async function createImage(def: Def, spec: VolumeSpec<RbdVolumeOptionsT>, ctx: OpContext): Promise<VolumeFacts> {
  if (spec.format !== 'raw') throw errors.invalid(`RBD images are raw (qemu reads them as disks as they are), not ${spec.format}`);
  if (spec.prealloc !== 'off') throw errors.invalid(`RBD images are allocated as they are written: preallocation '${spec.prealloc}' is not available`);
  const p = placeOf(def);
  return Reverter.run(ctx.log, async (r) => {
    await rbd(p, ['create', ...createArgs(spec), imageSpec(p, spec.name)], `image ${spec.name}`);
    r.add(`remove image ${spec.name}`, () => removeImage(p, spec.name));
    await markImage(def, spec.name);
    return imageInfo(def, spec.name);
  });
}

/** Removes an image that has no snapshots. */
export const removeImage = (p: RbdPlace, name: string): Promise<string> => rbd(p, ['rm', '--no-progress', imageSpec(p, name)], `image ${name}`);

/** Marks an image as made by kvmpool for this pool. */
export async function markImage(def: Def, name: string): Promise<void> {
  const p = placeOf(def);
  await rbd(p, ['image-meta', 'set', imageSpec(p, name), MARK_KEY, def.name], `image ${name}`);
}

/** Removes an image and its snapshots (the service refused already if clones depend on it). */
export async function deleteImage(def: Def, vol: VolumeFacts): Promise<void> {
  const p = placeOf(def);
  const spec = imageSpec(p, vol.name);
  // Every snapshot, counted or not (one a clone left after a failure is not counted).
  await rbd(p, ['snap', 'purge', '--no-progress', spec], `the snapshots of image ${vol.name}`);
  await removeImage(p, vol.name);
}

/** Grows an image (a running VM is told by the service), or shrinks it when asked (rbd refuses a shrink otherwise). */
export async function resizeImage(def: Def, vol: VolumeFacts, capacity: number, shrink: boolean): Promise<VolumeFacts> {
  const p = placeOf(def);
  await rbd(p, ['resize', '--no-progress', '--size', `${capacity}B`, ...(shrink ? ['--allow-shrink'] : []), imageSpec(p, vol.name)], `image ${vol.name}`);
  return imageInfo(def, vol.name);
}

/** Renames an image in its pool (its id, kvmpool's identity of it, stays). */
export async function renameImage(def: Def, vol: VolumeFacts, to: string): Promise<VolumeFacts> {
  const p = placeOf(def);
  await rbd(p, ['rename', imageSpec(p, vol.name), imageSpec(p, to)], `image ${to}`);
  return imageInfo(def, to);
}

/** How qemu reaches an image: its rbd driver, the key as a secret object; no host page cache; discards free objects. */
export function imageAccess(def: Def, vol: VolumeFacts): AccessInfo {
  const p = placeOf(def);
  return {
    access: { kind: 'rbd', pool: p.pool, ...(p.namespace ? { namespace: p.namespace } : {}), image: vol.name, monitors: p.monitors, user: p.user, key: { file: p.keyFile } },
    directIO: true,
    discard: true,
  };
}

/**
 * A full copy into a new image of the source's size, written in place through qemu's rbd driver (zero
 * runs stay unallocated). A failed or cancelled copy removes the image.
 */
export async function copyIntoImage(def: Def, source: CopySource, target: CloneTarget, ctx: OpContext): Promise<VolumeFacts> {
  if (target.format !== 'raw') throw errors.invalid(`RBD images are raw: copy with --format raw, not ${target.format}`);
  const made = await createImage(def, { name: target.name, format: 'raw', capacity: source.capacity, prealloc: 'off', options: {} }, ctx);
  return Reverter.run(ctx.log, async (r) => {
    r.add(`remove image ${target.name}`, () => removeImage(placeOf(def), target.name));
    ctx.progress(0, source.capacity);
    const spec = { source: { access: source.access.access, format: source.format }, target: imageAccess(def, made).access, targetFormat: 'raw' as const, direct: true, existing: true, targetIsZero: true };
    await qemuImg.convert(spec, (pct) => ctx.progress(Math.round((pct / 100) * source.capacity), source.capacity), { signal: ctx.signal });
    ctx.progress(source.capacity, source.capacity);
    return imageInfo(def, target.name);
  });
}
