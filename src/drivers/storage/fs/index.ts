import type { StorageType } from '../driver.js';
import { FILE_CAPABILITIES } from '../file/file-driver.js';
import { fsDriver, FsSettings, FsVolumeOptions } from './fs.js';

/** The `fs` pool type: a block device with a file system build makes and start mounts; its volumes are files as in a dir pool. */
const fs: StorageType<'fs', typeof FsSettings, typeof FsVolumeOptions> = {
  name: 'fs',
  summary: 'a block device with a file system (ext4, xfs with reflink, btrfs) holding image files',
  source: FsSettings,
  secrets: [],
  volumeOptions: FsVolumeOptions,
  flags: { devices: 'source' },
  target: 'directory',
  capabilities: FILE_CAPABILITIES,
  driver: fsDriver,
};
export default fs;
