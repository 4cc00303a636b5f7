import { errors, KvmpoolError } from '../../../model/errors.js';
import type { AccessInfo } from '../../../model/access.js';
import type { VolumeFacts } from '../../../model/volume-types.js';
import { Reverter } from '../../../model/reverter.js';
import { observedElsewhere } from '../../../model/ignore.js';
import { LONG_CALL_MS, imageSpec, placeArgs, rbd, rbdJson, type RbdPlace, type RbdSnapshot } from '../../../host/rbd.js';
import { imageStamps, readImages, removeImageData, type ScannedImage } from '../../../host/rbd-scan.js';
import * as qemuImg from '../../../host/qemu-img.js';
import type { CloneTarget, CopySource, KnownVolume, OpContext, VolumeScan, VolumeSpec } from '../driver.js';
import { clientConfOf, placeName, placeOf, type Def } from './rbd-place.js';
import { quotaRoom } from './rbd-pool.js';
import { checkRbdVolumeOptions, IMAGE_FEATURES, type RbdVolumeOptionsT } from './rbd-settings.js';

/** Image metadata kvmpool sets on the images it makes (`rbd image-meta get IMAGE kvmpool.pool`). */
export const MARK_KEY = 'kvmpool.pool';

/** Snapshots kvmpool makes only to clone from and removes again at once (rbd-snapshots.ts, layeredClone): never the user's. */
export const CLONE_SNAPSHOT = 'kvmpool-clone-';
export const isCloneSnapshot = (name: string): boolean => name.startsWith(CLONE_SNAPSHOT);

/** An image rbd-scan could open. */
type ReadImage = Required<Pick<ScannedImage, 'name' | 'id' | 'stamp' | 'size' | 'used' | 'snapshots' | 'objectSize' | 'features'>> & Pick<ScannedImage, 'parent'>;

/** What a deleted parent with clones is renamed to before it goes to the trash (see deferImage). */
export const DEFERRED = '.kvmpool-deferred';

/**
 * An image as a volume. A layered clone names its parent; the parent is its backing volume (a
 * dependency the service keeps it from deleting) when it is an image of the same place still listed.
 * Its stamp is rbd-scan's: while it is the same, the image has not changed and is not opened again.
 */
function imageFacts(p: RbdPlace, image: ReadImage): VolumeFacts {
  const parent = image.parent ?? undefined;
  const samePlace = parent !== undefined && parent.pool === p.pool && parent.pool_namespace === (p.namespace ?? '');
  const deferred = parent !== undefined && (parent.trash || parent.image.endsWith(DEFERRED));
  const here = samePlace && !deferred;
  const parentName = parent && `${parent.pool}/${parent.pool_namespace ? `${parent.pool_namespace}/` : ''}${deferred ? `${parent.image.replace(DEFERRED, '')} (deleted, kept for its clones)` : parent.image}`;
  return {
    name: image.name,
    path: imageSpec(p, image.name),
    format: 'raw',
    capacity: image.size,
    allocation: image.used,
    identity: image.id,
    // A parent here is named by its id; its name (or its move to the trash) is part of what the clone shows.
    stamp: samePlace ? `${image.stamp}>${parent.id}=${parent.trash ? '' : parent.image}` : image.stamp,
    snapshots: image.snapshots.filter((s) => !isCloneSnapshot(s)).length,
    objectSize: image.objectSize,
    storageFeatures: image.features,
    kind: parent ? 'clone' : 'image',
    ...(parentName ? { parent: parentName } : {}),
    ...(here ? { backingVolume: parent.image } : {}),
  };
}

/**
 * An image whose header cannot be read (its header object is gone: half deleted, or damaged): listed
 * as unreadable, never failing the listing; it can be deleted.
 */
function unreadableImage(p: RbdPlace, name: string, id: string | undefined, known: KnownVolume | undefined): VolumeFacts {
  const { capacity = 0, objectSize } = known?.facts ?? {};
  return {
    name,
    path: imageSpec(p, name),
    format: 'raw',
    // What was known of it: its data objects are found by them when it is deleted.
    capacity,
    ...(objectSize !== undefined ? { objectSize } : {}),
    allocation: 0,
    // The directory's id: a record's could be an earlier image's of the same name.
    identity: id ?? `unreadable:${name}`,
    kind: 'image',
    unreadable: true,
    warnings: ['the image cannot be opened (its header is missing or damaged): it can only be deleted'],
  };
}

/** An upload's stage, and the image it replaces, beside the volume for a moment (rbd-transfer.ts). */
export const STAGE_SUFFIX = '.kvmpool-upload';
export const OLD_SUFFIX = '.kvmpool-old';
/** Suffixes of images kvmpool keeps beside a volume for a moment (an upload, a deferred parent): not volumes. */
const INTERNAL = [STAGE_SUFFIX, OLD_SUFFIX, DEFERRED];
export const isInternal = (name: string): boolean => INTERNAL.some((s) => name.endsWith(s));

/** INVALID_ARGUMENT for a volume name that ends as kvmpool's own images beside a volume do. */
export function checkImageName(name: string): string {
  if (isInternal(name)) throw errors.invalid(`volume names ending in ${INTERNAL.join(', ')} are kvmpool's own in rbd pools`, { name });
  return name;
}

/**
 * The pool's images in two steps: the stamps of all (a few requests per image, none opened), then
 * the images of a slice read, except those whose stamp is the one recorded (and, for a clone, whose
 * parent has the name recorded): an image nobody changed is not opened again.
 */
export async function scanImages(def: Def): Promise<VolumeScan> {
  const p = placeOf(def);
  const stamps = await imageStamps(p, `the images of ${placeName(p)}`);
  // A stamp begins with the image's id.
  const nameOf = new Map([...stamps].map(([name, stamp]) => [stamp.split(':')[0]!, name]));
  return {
    names: [...stamps.keys()].filter((n) => !isInternal(n)).sort(),
    async read(names, known) {
      const unchanged = (n: string) => {
        const facts = known.get(n)?.facts;
        const [own, parent] = facts?.stamp?.split('>') ?? [];
        if (own === undefined || own !== stamps.get(n)) return undefined;
        if (parent === undefined) return facts;
        const [id, name] = parent.split('=');
        return (nameOf.get(id!) ?? '') === name ? facts : undefined;
      };
      const kept = new Map(names.map((n) => [n, unchanged(n)]));
      const fresh = new Map((await readVolumes(def, names.filter((n) => !kept.get(n)), known)).map((f) => [f.name, f]));
      return names.flatMap((n) => kept.get(n) ?? fresh.get(n) ?? []);
    },
  };
}

/** Every image of the pool, each read unless its stamp is the one `known` holds. */
export async function listImages(def: Def, known: ReadonlyMap<string, KnownVolume>): Promise<VolumeFacts[]> {
  const scan = await scanImages(def);
  return scan.read(scan.names, known);
}

/** The named images, read over one connection; those gone are left out, those that cannot be opened are unreadable. */
export async function readVolumes(def: Def, names: readonly string[], known: ReadonlyMap<string, KnownVolume>): Promise<VolumeFacts[]> {
  if (names.length === 0) return [];
  const p = placeOf(def);
  const read = await readImages(p, names, `the images of ${placeName(p)}`);
  return read.flatMap((image) => {
    if (image.missing) return [];
    if (image.unreadable || image.size === undefined) return [unreadableImage(p, image.name, image.id, known.get(image.name))];
    return [imageFacts(p, image as ReadImage)];
  });
}

/** One image as a volume; NOT_FOUND when there is none of that name, unreadable when its header is gone. */
export async function imageInfo(def: Def, name: string, known?: KnownVolume): Promise<VolumeFacts> {
  const [facts] = await readVolumes(def, [name], new Map(known ? [[name, known]] : []));
  if (!facts) throw errors.notFound('image', name);
  return facts;
}

/** The user's snapshots of an image: not those a clone v2 parent keeps in the trash namespace, nor kvmpool's own to clone from. */
export async function userSnapshots(p: RbdPlace, name: string): Promise<RbdSnapshot[]> {
  const snaps = await rbdJson<RbdSnapshot[]>(p, ['snap', 'ls', imageSpec(p, name)], `image ${name}`);
  return (snaps ?? []).filter((s) => (s.namespace?.type ?? 'user') === 'user' && !isCloneSnapshot(s.name));
}

/** `rbd create` options of a spec: size in bytes, the layout and features asked (or the default set). */
function createArgs(spec: VolumeSpec<RbdVolumeOptionsT>): string[] {
  const objectSize = checkRbdVolumeOptions(spec.options);
  const features = spec.options.features ?? IMAGE_FEATURES;
  return ['--size', `${spec.capacity}B`, ...(objectSize ? ['--object-size', `${objectSize}B`] : []), '--image-feature', features.join(',')];
}

/** Makes an image, marked as kvmpool's; raw only, thin (RBD allocates as data is written). */
export async function createImage(def: Def, spec: VolumeSpec<RbdVolumeOptionsT>, ctx: OpContext): Promise<VolumeFacts> {
  return Reverter.run(ctx.log, async (r) => {
    await makeImage(def, spec, ctx);
    r.add(`remove image ${spec.name}`, () => removeImage(placeOf(def), spec.name));
    return imageInfo(def, spec.name);
  });
}

/** createImage without reading the image back (an upload's stage). */
export async function makeImage(def: Def, spec: VolumeSpec<RbdVolumeOptionsT>, ctx: OpContext): Promise<void> {
  if (spec.format !== 'raw') throw errors.invalid(`RBD images are raw (qemu reads them as disks as they are), not ${spec.format}`);
  if (spec.prealloc !== 'off') throw errors.invalid(`RBD images are allocated as they are written: preallocation '${spec.prealloc}' is not available`);
  const room = quotaRoom(def);
  if (room !== undefined && spec.capacity > room) throw new KvmpoolError('NO_SPACE', `the quota of Ceph pool ${def.source.rbdPool} leaves ${room} bytes: ${spec.name} would need ${spec.capacity}`, { available: room, needed: spec.capacity });
  const p = placeOf(def);
  return Reverter.run(ctx.log, async (r) => {
    await rbd(p, ['create', ...createArgs(spec), imageSpec(p, spec.name)], `image ${spec.name}`);
    r.add(`remove image ${spec.name}`, () => removeImage(p, spec.name));
    await markImage(def, spec.name);
  });
}

/** Removes an image that has no snapshots. */
export const removeImage = (p: RbdPlace, name: string): Promise<string> => rbd(p, ['rm', '--no-progress', imageSpec(p, name)], `image ${name}`, { timeoutMs: LONG_CALL_MS });

/** Marks an image as made by kvmpool for this pool. */
export async function markImage(def: Def, name: string): Promise<void> {
  const p = placeOf(def);
  await rbd(p, ['image-meta', 'set', imageSpec(p, name), MARK_KEY, def.name], `image ${name}`);
}

/**
 * Removes an image and, with `force`, its snapshots (without, an image with snapshots is IN_USE: they
 * would go with it). The service refused already if clones depend on it.
 */
export async function deleteImage(def: Def, vol: VolumeFacts, force: boolean): Promise<void> {
  const p = placeOf(def);
  const spec = imageSpec(p, vol.name);
  if ((vol.snapshots ?? 0) > 0 && !force) throw errors.inUse(`${vol.name} has ${vol.snapshots} snapshot(s), which would be deleted with it: delete with --force to remove them too`, { snapshots: vol.snapshots });
  // Every snapshot, counted or not (one a clone left after a failure is not counted); an unreadable
  // image has none that can be read, and `rbd rm` removes what is left of it.
  if (!vol.unreadable) await rbd(p, ['snap', 'purge', '--no-progress', spec], `the snapshots of image ${vol.name}`, { timeoutMs: LONG_CALL_MS });
  await removeImage(p, vol.name);
  // Without its header, rbd rm cannot know the image's data objects: they are named by its id, up to the size last known.
  if (vol.unreadable && vol.objectSize && /^[0-9a-f]+$/.test(vol.identity)) await removeImageData(p, vol.identity, Math.ceil(vol.capacity / vol.objectSize), `the data of image ${vol.name}`);
}

/**
 * Deletes a parent whose clones still read through to it: renamed out of the way (so its name is free
 * and its clones show it as deleted) and moved to the RBD trash, where the periodic care removes it
 * once no clone depends on it (purgeDeferred).
 */
export async function deferImage(def: Def, vol: VolumeFacts): Promise<void> {
  const p = placeOf(def);
  const away = `${vol.name}${DEFERRED}`;
  // Snapshots of its own would keep it in the trash for ever (the service lets them go only when forced).
  if ((vol.snapshots ?? 0) > 0) await rbd(p, ['snap', 'purge', '--no-progress', imageSpec(p, vol.name)], `the snapshots of image ${vol.name}`, { timeoutMs: LONG_CALL_MS });
  await rbd(p, ['rename', imageSpec(p, vol.name), imageSpec(p, away)], `image ${away}`);
  try {
    await rbd(p, ['trash', 'mv', imageSpec(p, away)], `image ${vol.name}`);
  } catch (e) {
    await rbd(p, ['rename', imageSpec(p, away), imageSpec(p, vol.name)], `image ${vol.name}`).catch(observedElsewhere);
    throw e;
  }
}

/**
 * Mends what an upload or a deferred delete cut short by a crash left beside the volumes (run when the
 * pool starts, when nothing else runs on it): a stage goes; an image an upload replaced goes, or takes
 * its name back if the volume is gone (the crash fell between the two renames); a deferred parent
 * still in the directory goes to the trash. Returns what it did, for the log.
 */
export async function repairLeftovers(def: Def): Promise<string[]> {
  const p = placeOf(def);
  const all = (await rbdJson<string[]>(p, ['ls', ...placeArgs(p)], `the images of ${placeName(p)}`)) ?? [];
  const done: string[] = [];
  for (const name of all.filter((n) => n.endsWith(OLD_SUFFIX))) {
    const volume = name.slice(0, -OLD_SUFFIX.length);
    if (all.includes(volume)) await removeImage(p, name);
    else await rbd(p, ['rename', imageSpec(p, name), imageSpec(p, volume)], `image ${volume}`);
    done.push(all.includes(volume) ? `removed ${name}, which an upload replaced` : `gave ${volume} its image back from an upload cut short`);
  }
  for (const name of all.filter((n) => n.endsWith(STAGE_SUFFIX))) {
    await removeImage(p, name);
    done.push(`removed ${name}, an upload cut short`);
  }
  for (const name of all.filter((n) => n.endsWith(DEFERRED))) {
    await rbd(p, ['trash', 'mv', imageSpec(p, name)], `image ${name}`);
    done.push(`moved ${name} to the trash, as its deferred delete asked`);
  }
  return done;
}

/** Removes deferred parents from the trash whose last clone is gone (others stay for the next round); returns how many went. */
export async function purgeDeferred(def: Def): Promise<number> {
  const p = placeOf(def);
  const trash = (await rbdJson<{ id: string; name: string }[]>(p, ['trash', 'ls', ...placeArgs(p)], `the trash of ${placeName(p)}`)) ?? [];
  let removed = 0;
  for (const t of trash.filter((x) => x.name.endsWith(DEFERRED))) {
    // Refused while a clone still reads through to it: tried again next round.
    const gone = await rbd(p, ['trash', 'rm', '--no-progress', ...placeArgs(p), t.id], `deferred image ${t.name}`, { timeoutMs: LONG_CALL_MS }).then(
      () => true,
      () => false,
    );
    if (gone) removed++;
  }
  return removed;
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

/** `Image flatten: 42% complete...` and the like, as rbd reports progress on standard error. */
export const rbdPercent = (chunk: string): number | undefined => {
  const all = [...chunk.matchAll(/(\d+)% complete/g)];
  return all.length > 0 ? Number(all.at(-1)![1]) : undefined;
};

/** Copies the parent's data into a layered clone (online: a VM may use it meanwhile), with progress; cancel stops it. */
export async function flattenImage(def: Def, vol: VolumeFacts, ctx: OpContext): Promise<VolumeFacts> {
  const p = placeOf(def);
  ctx.progress(0, vol.capacity);
  const onStderr = (chunk: string) => {
    const pct = rbdPercent(chunk);
    if (pct !== undefined) ctx.progress(Math.round((pct / 100) * vol.capacity), vol.capacity);
  };
  await rbd(p, ['flatten', imageSpec(p, vol.name)], `image ${vol.name}`, { signal: ctx.signal, timeoutMs: LONG_CALL_MS, onStderr });
  ctx.progress(vol.capacity, vol.capacity);
  return imageInfo(def, vol.name);
}

/** How qemu reaches an image: its rbd driver, the key as a secret object; no host page cache; discards free objects. */
export function imageAccess(def: Def, vol: VolumeFacts): AccessInfo {
  const p = placeOf(def);
  return {
    access: { kind: 'rbd', pool: p.pool, ...(p.namespace ? { namespace: p.namespace } : {}), image: vol.name, monitors: p.monitors, user: p.user, key: { file: p.keyFile }, conf: clientConfOf(def) },
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
