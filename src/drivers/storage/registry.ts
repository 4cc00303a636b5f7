/**
 * Every storage pool type of this build, one line each: a new type is its folder (its index.ts
 * exports the StorageType as default) plus one line here.
 */
export const STORAGE_TYPES = [
  (await import('./dir/index.js')).default,
  (await import('./fs/index.js')).default,
  (await import('./logical/index.js')).default,
  (await import('./disk/index.js')).default,
  (await import('./netfs/index.js')).default,
  (await import('./iscsi/index.js')).default,
  (await import('./scsi/index.js')).default,
  (await import('./rbd/index.js')).default,
] as const;

/** Types kvmpool will have but this build does not: defining one is NOT_SUPPORTED, not unknown. */
export const PLANNED_TYPES: readonly string[] = [];
