import { format } from '../../../model/capabilities.js';
import type { StorageType } from '../driver.js';
import { STANDARD_WITHHELD } from '../standard-states.js';
import { rbdDriver } from './rbd.js';
import { RbdSettings, RbdVolumeOptions } from './rbd-settings.js';
import { rbdSources } from './rbd-sources.js';

/** The `rbd` pool type: the images of a Ceph pool (or namespace), reached through librbd; no kernel mapping. */
const rbd: StorageType<'rbd', typeof RbdSettings, typeof RbdVolumeOptions> = {
  name: 'rbd',
  summary: 'the images of a Ceph RBD pool (or namespace): thin, instant layered clones, snapshots; used by qemu through librbd',
  source: RbdSettings,
  secrets: ['key'],
  volumeOptions: RbdVolumeOptions,
  flags: { key: 'secret' },
  target: 'derived',
  // Snapshots would go with the image: they withhold a delete unless forced. A running VM's image
  // takes snapshots (librbd hands the request to the qemu that holds the image's lock). A layered
  // clone (kind `clone`) can be flattened; a plain image (kind `image`) has nothing to flatten.
  capabilities: {
    formats: {
      raw: format(['delete', 'resize', 'shrink', 'rename', 'clone', 'clone-layered', 'snapshot', 'revert', 'wipe', 'upload', 'download'], {
        ...STANDARD_WITHHELD,
        // A whole upload replaces the image its snapshots belong to.
        snapshots: [...STANDARD_WITHHELD.snapshots, 'delete', 'upload'],
        // Clones read their parent's snapshot (kept out of sight), not its current data: the parent may
        // change; it only stays (and keeps its name), and is not replaced by an upload.
        backing: ['delete', 'rename', 'upload'],
        running: STANDARD_WITHHELD.running.filter((f) => f !== 'snapshot'),
      }),
    },
    kinds: { clone: ['flatten'] },
  },
  driver: rbdDriver,
  sources: rbdSources,
};
export default rbd;
