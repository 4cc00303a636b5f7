import type { StorageType } from '../driver.js';
import { FILE_CAPABILITIES } from '../file/file-driver.js';
import { netfsDriver } from './netfs.js';
import { NetfsSettings, NetfsVolumeOptions } from './netfs-settings.js';
import { netfsSources } from './netfs-sources.js';

/** The `netfs` pool type: an NFS export or CIFS share mounted at the target; its volumes are files as in a dir pool. */
const netfs: StorageType<'netfs', typeof NetfsSettings, typeof NetfsVolumeOptions> = {
  name: 'netfs',
  summary: 'an NFS export or a CIFS share mounted at the target, holding image files',
  source: NetfsSettings,
  secrets: ['password'],
  volumeOptions: NetfsVolumeOptions,
  flags: { password: 'secret' },
  target: 'directory',
  capabilities: FILE_CAPABILITIES,
  driver: netfsDriver,
  sources: netfsSources,
};
export default netfs;
