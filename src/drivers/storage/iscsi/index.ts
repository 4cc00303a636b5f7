import { format } from '../../../model/capabilities.js';
import type { StorageType } from '../driver.js';
import { STANDARD_WITHHELD } from '../standard-states.js';
import { iscsiDriver } from './iscsi.js';
import { IscsiSettings, IscsiVolumeOptions } from './iscsi-settings.js';
import { iscsiSources } from './iscsi-sources.js';

/** The `iscsi` pool type: the LUNs of an iSCSI target, logged in to through each of its portals. */
const iscsi: StorageType<'iscsi', typeof IscsiSettings, typeof IscsiVolumeOptions> = {
  name: 'iscsi',
  summary: "an iSCSI target's LUNs (CHAP one-way or mutual, multipath, or qemu-only with --direct); LUNs are used, copied from, transferred and wiped, not made",
  source: IscsiSettings,
  secrets: ['chapSecret', 'mutualSecret'],
  volumeOptions: IscsiVolumeOptions,
  flags: { portals: 'portal', chapSecret: 'secret', mutualSecret: 'mutual-secret' },
  target: 'derived',
  // LUNs with a block device on the host take transfers and wipes; a direct pool's (kind direct-lun) are VM disks and copy sources.
  capabilities: { formats: { raw: format(['clone'], STANDARD_WITHHELD) }, kinds: { lun: ['wipe', 'upload', 'download'] } },
  driver: iscsiDriver,
  sources: iscsiSources,
};
export default iscsi;
