import { format } from '../../../model/capabilities.js';
import type { StorageType } from '../driver.js';
import { STANDARD_WITHHELD } from '../standard-states.js';
import { diskDriver } from './disk.js';
import { DiskSettings, DiskVolumeOptions } from './disk-settings.js';

/** The `disk` pool type: a whole disk with a partition table; volumes are partitions, made, copied into, wiped and transferred. */
const disk: StorageType<'disk', typeof DiskSettings, typeof DiskVolumeOptions> = {
  name: 'disk',
  summary: 'a whole disk with a partition table (gpt, dos); volumes are its partitions',
  source: DiskSettings,
  secrets: [],
  volumeOptions: DiskVolumeOptions,
  flags: { devices: 'source' },
  target: 'derived',
  capabilities: { formats: { raw: format(['delete', 'clone', 'wipe', 'upload', 'download'], STANDARD_WITHHELD) } },
  driver: diskDriver,
};
export default disk;
