import type { VolumeFeature, VolumeState } from '../../model/capabilities.js';

/**
 * What the states of a volume withhold in most pool types: snapshots keep the data (no shrink, no
 * wipe); a volume that backs others must stay what and where it is; a VM's disk keeps its name; a
 * running VM's disk is not rewritten under it (grow and download still work, and a copy of a
 * read-only one); a writable one is not read for a copy while the guest writes.
 */
export const STANDARD_WITHHELD: Readonly<Record<VolumeState, readonly VolumeFeature[]>> = {
  snapshots: ['shrink', 'wipe'],
  backing: ['delete', 'rename', 'shrink', 'wipe', 'snapshot', 'revert', 'upload'],
  attached: ['delete', 'rename'],
  running: ['delete', 'rename', 'shrink', 'wipe', 'snapshot', 'revert', 'upload'],
  // qemu cannot grow a disk it only reads.
  reading: ['resize'],
  writing: ['clone'],
};

/**
 * What every type's table must withhold at least: kvmpool never deletes or renames a volume a VM has
 * or another volume stands on, and never rewrites one under a running guest.
 */
export const MINIMUM_WITHHELD: Readonly<Partial<Record<VolumeState, readonly VolumeFeature[]>>> = {
  backing: ['delete', 'rename'],
  attached: ['delete', 'rename'],
  running: ['delete', 'rename', 'shrink', 'wipe', 'revert', 'upload'],
  writing: ['clone'],
};
