import { format } from '../../../model/capabilities.js';
import type { StorageType } from '../driver.js';
import { STANDARD_WITHHELD } from '../standard-states.js';
import { scsiDriver, ScsiSettings, ScsiVolumeOptions } from './scsi.js';
import { scsiSources } from './scsi-sources.js';

/** The `scsi` pool type: the disks of a SCSI host adapter. */
const scsi: StorageType<'scsi', typeof ScsiSettings, typeof ScsiVolumeOptions> = {
  name: 'scsi',
  summary: "a SCSI host adapter's disks (an HBA); they are used, copied from, transferred and wiped, not made",
  source: ScsiSettings,
  secrets: [],
  volumeOptions: ScsiVolumeOptions,
  target: 'derived',
  capabilities: { formats: { raw: format(['clone', 'wipe', 'upload', 'download'], STANDARD_WITHHELD) } },
  driver: scsiDriver,
  sources: scsiSources,
};
export default scsi;
