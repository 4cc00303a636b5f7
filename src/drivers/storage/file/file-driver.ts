import { rm } from 'node:fs/promises';
import type { Capabilities } from '../../../model/capabilities.js';
import type { PoolDefinition } from '../../../model/types.js';
import type { StorageDriver } from '../driver.js';
import * as files from './file-volumes.js';
import { cloneFileVolume, copyFileVolume, probeFileTraits } from './file-clone.js';
import { createFileSnapshot, deleteFileSnapshot, listFileSnapshots, revertFileSnapshot } from './file-snapshots.js';
import { wipeFileVolume } from './file-wipe.js';
import { commitFileUpload, fileDataExtents, fileUploadStage } from './file-transfer.js';

const READ_ONLY_IMAGE = ['delete', 'rename', 'clone', 'download'] as const;

/** What volumes of the file pools (dir, fs, netfs) support, per format. */
export const FILE_CAPABILITIES: Capabilities = {
  base: {
    raw: ['delete', 'resize', 'shrink', 'rename', 'clone', 'clone-linked', 'wipe', 'upload', 'download'],
    qcow2: ['delete', 'resize', 'shrink', 'rename', 'clone', 'clone-linked', 'snapshot', 'wipe', 'upload', 'download'],
    qcow: READ_ONLY_IMAGE,
    qed: READ_ONLY_IMAGE,
    vmdk: READ_ONLY_IMAGE,
    vdi: READ_ONLY_IMAGE,
    vhdx: READ_ONLY_IMAGE,
    vpc: READ_ONLY_IMAGE,
  },
  reflink: {
    raw: ['clone-reflink', 'snapshot'],
    qcow2: ['clone-reflink'],
  },
};

/** The file pool drivers' volume half: every method works on the directory `dirOf(def)`. */
export type FileVolumeOps = Pick<
  StorageDriver,
  | 'capabilities' | 'createFormats' | 'probe' | 'listVolumes' | 'volumeInfo' | 'createVolume' | 'deleteVolume' | 'resizeVolume'
  | 'renameVolume' | 'volumeUsers' | 'discardPartial' | 'finishRename' | 'cloneVolume' | 'copyVolume' | 'listSnapshots' | 'createSnapshot'
  | 'revertSnapshot' | 'deleteSnapshot' | 'wipeVolume' | 'dataExtents' | 'uploadStage' | 'commitUpload' | 'discardUpload'
>;

/** Volume operations of a pool whose volumes are image files in one directory. */
export function fileVolumeOps(dirOf: (def: PoolDefinition) => string): FileVolumeOps {
  return {
    capabilities: FILE_CAPABILITIES,
    createFormats: ['raw', 'qcow2'],
    probe: (def) => probeFileTraits(dirOf(def)),
    listVolumes: (def, known) => files.listFileVolumes(dirOf(def), known),
    volumeInfo: (def, known, name) => files.readFileVolume(dirOf(def), name, known),
    createVolume: (def, spec, ctx) => files.createFileVolume(dirOf(def), spec, ctx),
    deleteVolume: (def, vol) => files.deleteFileVolume(dirOf(def), vol),
    resizeVolume: (def, vol, capacity, shrink, ctx) => files.resizeFileVolume(dirOf(def), vol, capacity, shrink, ctx),
    renameVolume: (def, vol, newName) => files.renameFileVolume(dirOf(def), vol, newName),
    volumeUsers: (_def, vol) => files.fileVolumeUsers(vol),
    discardPartial: (def, name) => files.discardPartialFileVolume(dirOf(def), name),
    finishRename: (def, from, to) => files.finishFileRename(dirOf(def), from, to),
    cloneVolume: (def, source, target, method, ctx) => cloneFileVolume(dirOf(def), source, target, method, ctx),
    copyVolume: (def, source, target, traits, ctx) => copyFileVolume(dirOf(def), source, target, traits, ctx),
    listSnapshots: (def, vol) => listFileSnapshots(dirOf(def), vol),
    createSnapshot: (def, vol, name, ctx) => createFileSnapshot(dirOf(def), vol, name, ctx),
    revertSnapshot: async (def, vol, name, ctx) => {
      await revertFileSnapshot(dirOf(def), vol, name, ctx);
      return files.readOwnFileVolume(dirOf(def), vol.name, vol.format);
    },
    deleteSnapshot: (def, vol, name, ctx) => deleteFileSnapshot(dirOf(def), vol, name, ctx),
    dataExtents: (_def, vol) => fileDataExtents(vol),
    uploadStage: async (def, vol) => ({ path: fileUploadStage(dirOf(def), vol), create: true, zeroHoles: false }),
    commitUpload: (def, vol, staged, end, grow) => commitFileUpload(dirOf(def), vol, staged, end, grow),
    discardUpload: (_def, _vol, staged) => rm(staged, { force: true }),
    wipeVolume: async (def, vol, algorithm, verify, ctx) => {
      await wipeFileVolume(vol, algorithm, verify, ctx);
      return files.readOwnFileVolume(dirOf(def), vol.name, vol.format);
    },
  };
}
