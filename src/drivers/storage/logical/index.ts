import { format } from '../../../model/capabilities.js';
import type { StorageType } from '../driver.js';
import { STANDARD_WITHHELD } from '../standard-states.js';
import { logicalDriver } from './logical.js';
import { LogicalSettings, LogicalVolumeOptions } from './logical-settings.js';

/** The `logical` pool type: an LVM volume group; volumes are raw LVs, thin ones clone instantly. */
const logical: StorageType<'logical', typeof LogicalSettings, typeof LogicalVolumeOptions> = {
  name: 'logical',
  summary: 'an LVM volume group (built from devices or adopted); volumes are LVs: linear, striped, raid1, thin',
  source: LogicalSettings,
  secrets: [],
  volumeOptions: LogicalVolumeOptions,
  flags: { devices: 'source' },
  target: 'derived',
  capabilities: {
    formats: {
      // A whole upload replaces the LV its snapshots belong to: snapshots withhold it.
      raw: format(['delete', 'resize', 'shrink', 'rename', 'clone', 'snapshot', 'revert', 'wipe', 'upload', 'download'], { ...STANDARD_WITHHELD, snapshots: [...STANDARD_WITHHELD.snapshots, 'upload'] }),
    },
    // A thin LV clones instantly: a thin snapshot shares its blocks.
    kinds: { thin: ['clone-reflink'] },
    // LVM resizes the origin of copy-on-write snapshots (all but thin LVs') only while it is inactive.
    kindWithheld: { thin: {}, '*': { snapshots: ['resize'] } },
  },
  driver: logicalDriver,
};
export default logical;
