import { rm } from 'node:fs/promises';
import { errors } from '../../../model/errors.js';
import { format, type CapabilityTable, type VolumeFeature } from '../../../model/capabilities.js';
import type { PoolDefinition } from '../../../model/pool-types.js';
import { localStage, type StorageDriver } from '../driver.js';
import { STANDARD_WITHHELD } from '../standard-states.js';
import * as files from './file-volumes.js';
import { copyIntoFile, FILE_CLONE_METHODS, probeFileTraits } from './file-clone.js';
import { discardPart } from './file-part.js';
import { createFileSnapshot, deleteFileSnapshot, listFileSnapshots, revertFileSnapshot } from './file-snapshots.js';
import { wipeFileVolume } from './file-wipe.js';
import { watchFileVolumes } from './file-watch.js';
import { commitFileUpload, fileDataExtents, fileUploadStage } from './file-transfer.js';

const READ_ONLY_IMAGE = format(['delete', 'rename', 'clone', 'download'], STANDARD_WITHHELD);
const IMAGE: VolumeFeature[] = ['delete', 'resize', 'shrink', 'rename', 'clone', 'clone-linked', 'wipe', 'upload', 'download'];

/**
 * What volumes of the file pools (dir, fs, netfs) can do, per format and state. A qcow2 that a running
 * VM writes keeps `snapshot` (its qemu takes and deletes internal snapshots), not one it only reads; an
 * upload would replace a qcow2's internal snapshots, so they withhold it as they withhold a wipe.
 */
export const FILE_CAPABILITIES: CapabilityTable = {
  formats: {
    raw: format(IMAGE, STANDARD_WITHHELD),
    qcow2: format([...IMAGE, 'snapshot', 'revert'], {
      ...STANDARD_WITHHELD,
      snapshots: [...STANDARD_WITHHELD.snapshots, 'upload'],
      running: STANDARD_WITHHELD.running.filter((f) => f !== 'snapshot'),
      reading: [...STANDARD_WITHHELD.reading, 'snapshot'],
    }),
    qcow: READ_ONLY_IMAGE,
    qed: READ_ONLY_IMAGE,
    vmdk: READ_ONLY_IMAGE,
    vdi: READ_ONLY_IMAGE,
    vhdx: READ_ONLY_IMAGE,
    vpc: READ_ONLY_IMAGE,
  },
  traits: {
    reflink: { raw: ['clone-reflink', 'snapshot', 'revert'], qcow2: ['clone-reflink'] },
  },
};

/** The volume half of the file pool drivers: everything works on the pool's directory, its target. */
export type FileVolumeOps = Omit<StorageDriver<unknown>, 'listsWhenStopped' | 'validate' | 'resources' | 'build' | 'start' | 'stop' | 'delete' | 'status' | 'maintain' | 'devices'>;

/** Volume operations of a pool whose volumes are image files in its target directory. */
export const fileVolumeOps: FileVolumeOps = {
  probe: (def) => probeFileTraits(def.target),
  listVolumes: (def, known) => files.listFileVolumes(def.target, known),
  scan: (def) => files.scanFileVolumes(def.target),
  watch: (def, signal) => watchFileVolumes(def.target, signal),
  volumeInfo: (def, known, name) => files.readFileVolume(def.target, name, known),
  volumeUsers: (_def, vol) => files.fileVolumeUsers(vol),
  // Sparse files give discarded blocks back.
  access: (_def, vol, traits) => ({ access: { kind: 'file', path: vol.path }, directIO: traits.directIO, discard: true }),
  volumes: {
    formats: ['raw', 'qcow2'],
    create: (def, spec, ctx) => files.createFileVolume(def.target, spec, ctx),
    delete: (def, vol) => files.deleteFileVolume(def.target, vol),
    discardPartial: (def, name) => discardPart(def.target, name),
  },
  resize: { resize: (def, vol, capacity, shrink, ctx) => files.resizeFileVolume(def.target, vol, capacity, shrink, ctx) },
  rename: {
    rename: (def, vol, newName, ctx) => files.renameFileVolume(def.target, vol, newName, ctx),
    finish: (def, from, to) => files.finishFileRename(def.target, from, to),
  },
  snapshots: {
    list: (def, vol) => listFileSnapshots(def.target, vol),
    create: async (def, vol, name, ctx, options) => {
      if (options.size !== undefined) throw errors.invalid('a snapshot size applies to copy-on-write LV snapshots (logical pools)');
      return createFileSnapshot(def.target, vol, name, ctx);
    },
    revert: async (def, vol, name, ctx) => {
      await revertFileSnapshot(def.target, vol, name, ctx);
      return files.readOwnFileVolume(def.target, vol.name, vol.format);
    },
    delete: (def, vol, name, ctx) => deleteFileSnapshot(def.target, vol, name, ctx),
  },
  clones: FILE_CLONE_METHODS,
  copy: { copyInto: (def, source, target, traits, ctx) => copyIntoFile(def.target, source, target, traits, ctx) },
  transfers: {
    dataExtents: (_def, vol) => fileDataExtents(vol),
    stage: async (def, vol) => fileUploadStage(def.target, vol),
    commit: (def, vol, stage, end, grow) => commitFileUpload(def.target, vol, stage, end, grow),
    discard: async (_def, _vol, stage) => rm(localStage(stage).access.path, { force: true }),
  },
  wipe: {
    wipe: async (def, vol, algorithm, verify, ctx) => {
      await wipeFileVolume(vol, algorithm, verify, ctx);
      return files.readOwnFileVolume(def.target, vol.name, vol.format);
    },
  },
};

/** A pool definition whose target is the directory of its volumes. */
export type FilePoolDefinition = PoolDefinition<unknown>;
