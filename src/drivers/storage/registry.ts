import { errors } from '../../model/errors.js';
import { POOL_TYPES, type PoolType } from '../../model/types.js';
import { dirDriver } from './dir/dir.js';
import { fsDriver } from './fs/fs.js';
import { logicalDriver } from './logical/logical.js';
import { diskDriver } from './disk/disk.js';
import type { StorageDriver } from './driver.js';

const DRIVERS: Partial<Record<PoolType, StorageDriver>> = { dir: dirDriver, fs: fsDriver, logical: logicalDriver, disk: diskDriver };

/** Pool types that have a driver on this build. */
export function supportedPoolTypes(): PoolType[] {
  return POOL_TYPES.filter((t) => DRIVERS[t]);
}

/** The driver for a pool type; INVALID_ARGUMENT for unknown types, NOT_SUPPORTED for known ones without a driver yet. */
export function storageDriver(type: string): StorageDriver {
  if (!(POOL_TYPES as readonly string[]).includes(type)) {
    throw errors.invalid(`unknown pool type '${type}': expected one of ${supportedPoolTypes().join(', ')}`, { type });
  }
  const driver = DRIVERS[type as PoolType];
  if (!driver) throw errors.notSupported(`pool type '${type}' is not supported yet (supported: ${supportedPoolTypes().join(', ')})`, { type });
  return driver;
}
