import { format } from '../../../model/capabilities.js';
import type { StorageType } from '../driver.js';
import { STANDARD_WITHHELD } from '../standard-states.js';
import { iscsiDriver } from './iscsi.js';
import { IscsiSettings, IscsiVolumeOptions } from './iscsi-settings.js';
import { iscsiSources } from './iscsi-sources.js';

/** The `iscsi` pool type: the LUNs of an iSCSI target, logged in to through each of its portals. */
const iscsi: StorageType<'iscsi', typeof IscsiSettings, typeof IscsiVolumeOptions> = {
  name: 'iscsi',
  summary: "an iSCSI target's LUNs (CHAP one-way or mutual); LUNs are used, copied from, transferred and wiped, not made",
  source: IscsiSettings,
  secrets: ['chapSecret', 'mutualSecret'],
  volumeOptions: IscsiVolumeOptions,
  flags: { portals: 'portal', chapSecret: 'secret', mutualSecret: 'mutual-secret' },
  target: 'derived',
  capabilities: { formats: { raw: format(['clone', 'wipe', 'upload', 'download'], STANDARD_WITHHELD) } },
  driver: iscsiDriver,
  sources: iscsiSources,
};
export default iscsi;
