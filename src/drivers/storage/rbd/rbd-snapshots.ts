import { randomUUID } from 'node:crypto';
import { errors } from '../../../model/errors.js';
import type { SnapshotInfo, VolumeFacts } from '../../../model/volume-types.js';
import { LONG_CALL_MS, cephTime, imageSpec, rbd, type RbdSnapshot } from '../../../host/rbd.js';
import type { CloneTarget, OpContext, StorageDriver } from '../driver.js';
import { CLONE_SNAPSHOT, imageInfo, markImage, removeImage, userSnapshots } from './rbd-images.js';
import { placeOf, type Def } from './rbd-place.js';
import { Reverter } from '../../../model/reverter.js';
import type { RbdSource } from './rbd-settings.js';

/** RBD snapshots of an image: made, listed and rolled back by the cluster; user snapshots only. */
export const rbdSnapshots: NonNullable<StorageDriver<RbdSource>['snapshots']> = {
  // librbd hands a snapshot of an image in use to the client holding its lock (a running VM's qemu).
  whileInUse: true,
  async list(def, vol) {
    return (await userSnapshots(placeOf(def), vol.name)).map(snapshotInfo);
  },
  async create(def, vol, name) {
    const p = placeOf(def);
    await rbd(p, ['snap', 'create', '--no-progress', imageSpec(p, vol.name, name)], `snapshot ${vol.name}@${name}`);
    const made = (await rbdSnapshots.list(def, vol)).find((s) => s.name === name);
    if (!made) throw errors.notFound('snapshot', `${vol.name}@${name}`);
    return made;
  },
  async revert(def, vol, name, ctx) {
    const p = placeOf(def);
    await rbd(p, ['snap', 'rollback', '--no-progress', imageSpec(p, vol.name, name)], `snapshot ${vol.name}@${name}`, { signal: ctx.signal, timeoutMs: LONG_CALL_MS });
    return imageInfo(def, vol.name);
  },
  async delete(def, vol, name) {
    const p = placeOf(def);
    await rbd(p, ['snap', 'rm', '--no-progress', imageSpec(p, vol.name, name)], `snapshot ${vol.name}@${name}`);
  },
};

function snapshotInfo(s: RbdSnapshot): SnapshotInfo {
  return { name: s.name, created: cephTime(s.timestamp) ?? new Date(0).toISOString(), capacity: s.size, kind: 'rbd' };
}

/**
 * An instant layered clone (clone v2): a snapshot of the source made for it, the clone made of that
 * snapshot, and the snapshot removed again; the cluster keeps it, out of sight, while the clone
 * depends on it, so nothing is protected and nothing is left to clean up.
 */
export async function layeredClone(def: Def, source: VolumeFacts, target: CloneTarget, ctx: OpContext): Promise<VolumeFacts> {
  if (target.format !== 'raw') throw errors.invalid(`a layered clone is raw, as its source is, not ${target.format}`);
  const p = placeOf(def);
  const snap = imageSpec(p, source.name, `${CLONE_SNAPSHOT}${randomUUID()}`);
  const dropSnapshot = () => rbd(p, ['snap', 'rm', '--no-progress', snap], `a snapshot of image ${source.name}`);
  const made = await Reverter.run(ctx.log, async (r) => {
    await rbd(p, ['snap', 'create', '--no-progress', snap], `a snapshot of image ${source.name}`);
    r.add(`remove snapshot ${snap}`, dropSnapshot);
    await rbd(p, ['clone', '--rbd-default-clone-format', '2', snap, imageSpec(p, target.name)], `image ${target.name}`);
    r.add(`remove image ${target.name}`, () => removeImage(p, target.name));
    await markImage(def, target.name);
    return imageInfo(def, target.name);
  });
  // The clone is made: a snapshot that stays (the cluster failed at this moment) is left out of listings.
  await dropSnapshot().catch((e: unknown) => ctx.log(`clone ${target.name}: could not remove ${snap}: ${e instanceof Error ? e.message : String(e)}`));
  return made;
}
