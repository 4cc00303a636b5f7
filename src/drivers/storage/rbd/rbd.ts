import { quietContext } from '../../../model/op-context.js';
import { imageSpec, rbdJson, unlessGone } from '../../../host/rbd.js';
import type { StorageDriver } from '../driver.js';
import * as images from './rbd-images.js';
import * as transfer from './rbd-transfer.js';
import { placeName, placeOf } from './rbd-place.js';
import { buildRbd, deleteRbd, rbdStatus, startRbd, stopRbd, writeClientConf } from './rbd-pool.js';
import { checkRbdSource, type RbdSource, type RbdVolumeOptionsT } from './rbd-settings.js';
import { layeredClone, rbdSnapshots } from './rbd-snapshots.js';
import { watchPool } from './rbd-watch.js';

/** Clients that have an image open, as `rbd status` names them (librbd watches the image's header). */
interface Watchers {
  watchers: { address: string; client: number; cookie: number }[];
}

/**
 * The `rbd` pool: images of a Ceph pool (or of an RBD namespace in it), reached through the `rbd`
 * tool and qemu's rbd driver with the pool's cephx user; nothing is mapped on the host. Every call to
 * the cluster is bounded (host/rbd.ts): a cluster that does not answer makes the pool degraded, never
 * a caller wait.
 */
export const rbdDriver: StorageDriver<RbdSource, RbdVolumeOptionsT> = {
  listsWhenStopped: false,

  async validate(def) {
    const source = checkRbdSource(def.source, def.secrets['key'] !== undefined);
    return { ...def, source, target: `rbd:${placeName({ ...placeOf({ ...def, source }) })}` };
  },

  resources: (def) => ({ names: [`rbd:${[...def.source.monitors].sort().join(',')}/${placeName(placeOf(def))}`] }),

  build: (def, ctx) => buildRbd(def, ctx.log),
  // No operation runs on a pool while it starts: what a crash left of one is mended then.
  async start(def, ctx) {
    await startRbd(def);
    for (const m of await images.repairLeftovers(def)) ctx.log(`pool ${def.name}: ${m}`);
  },
  async stop(def) {
    stopRbd(def);
  },
  delete: (def, created) => deleteRbd(def, created),
  status: (def, detail) => rbdStatus(def, detail),
  // Probed when the pool starts and when a daemon finds it running: qemu's client settings are written then.
  async probe(def) {
    await writeClientConf(def);
    return { reflink: false, directIO: true };
  },

  // The usage read again, and deferred parents whose last clone is gone removed from the trash.
  async maintain(def) {
    const status = await rbdStatus(def, true);
    if (status.state === 'running') await images.purgeDeferred(def);
    return undefined;
  },

  listVolumes: (def, known) => images.listImages(def, known),
  scan: (def) => images.scanImages(def),
  readVolumes: (def, names, known) => images.readVolumes(def, names, known),
  watch: (def, signal) => watchPool(placeOf(def), signal),
  volumeInfo: (def, known, name) => images.imageInfo(def, name, known),
  async volumeUsers(def, vol) {
    // An image that cannot be opened has no watchers to ask for (and no client can have it open).
    if (vol.unreadable) return [];
    const p = placeOf(def);
    // An image gone meanwhile (behind kvmpool's back) has no users either.
    const status = await rbdJson<Watchers>(p, ['status', imageSpec(p, vol.name)], `image ${vol.name}`).catch(unlessGone(undefined));
    return (status?.watchers ?? []).map((w) => `client.${w.client} at ${w.address}`);
  },
  access: (def, vol) => images.imageAccess(def, vol),

  volumes: {
    formats: ['raw'],
    create: (def, spec, ctx) => images.createImage(def, { ...spec, name: images.checkImageName(spec.name) }, ctx),
    delete: (def, vol, _ctx, options) => images.deleteImage(def, vol, options?.force === true),
    defer: (def, vol) => images.deferImage(def, vol),
  },
  resize: { resize: (def, vol, capacity, shrink) => images.resizeImage(def, vol, capacity, shrink) },
  rename: { rename: (def, vol, to) => images.renameImage(def, vol, images.checkImageName(to)) },
  snapshots: rbdSnapshots,
  clones: {
    layered: { summary: 'an RBD layered clone (clone v2): instant, the clone shares the source\'s data until written', format: 'source', clone: (def, source, target, ctx) => layeredClone(def, source, { ...target, name: images.checkImageName(target.name) }, ctx) },
  },
  flatten: { flatten: (def, vol, ctx) => images.flattenImage(def, vol, ctx) },
  transfers: {
    dataExtents: (def, vol) => transfer.imageExtents(def, vol),
    read: (def, vol, offset, length, options) => transfer.readImage(def, vol, offset, length, options),
    // The stage is marked as kvmpool's when it is made: the volume it becomes is.
    stage: (def, vol) => transfer.stageUpload(def, vol, (name, capacity) => images.makeImage(def, { name, format: 'raw', capacity, prealloc: 'off', options: {} }, quietContext())),
    async commit(def, vol, _stage, end, _grow, ctx) {
      await transfer.commitUpload(def, vol, end, ctx.log);
      return images.imageInfo(def, vol.name);
    },
    discard: (def, vol) => transfer.discardUpload(def, vol),
  },
  wipe: {
    async wipe(def, vol, algorithm, verify, ctx) {
      await transfer.wipeImage(def, vol, algorithm, verify, ctx);
      return images.imageInfo(def, vol.name);
    },
  },
  copy: { copyInto: (def, source, target, _traits, ctx) => images.copyIntoImage(def, source, { ...target, name: images.checkImageName(target.name) }, ctx) },
};
