import type { StorageType } from '../driver.js';
import { FILE_CAPABILITIES } from '../file/file-driver.js';
import { dirDriver, DirSettings } from './dir.js';

/** The `dir` pool type: a directory of image files (raw, qcow2; reflink clones where the file system shares extents). */
const dir: StorageType<'dir', typeof DirSettings, typeof DirSettings> = {
  name: 'dir',
  summary: 'a directory of image files (raw, qcow2)',
  source: DirSettings,
  secrets: [],
  volumeOptions: DirSettings,
  target: 'directory',
  capabilities: FILE_CAPABILITIES,
  driver: dirDriver,
};
export default dir;
