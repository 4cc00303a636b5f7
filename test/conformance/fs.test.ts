import path from 'node:path';
import { fsDriver } from '../../src/drivers/storage/fs/fs.js';
import type { FsFormat } from '../../src/host/mkfs.js';
import { loopDevice } from '../helpers/loop.js';
import { tempDir } from '../helpers/tmp.js';
import { storageDataConformance, storageDriverConformance, type ConformanceFixture } from './storage-driver.js';
import { capabilityConformance } from './capabilities.js';

/** An fs pool on a loop device of this host, with the given file system. */
function fixture(fsFormat: FsFormat): ConformanceFixture {
  return {
    driver: fsDriver,
    async makePool() {
      const { dir, cleanup } = await tempDir();
      // Sparse, and large enough that the suite's 4 GiB preallocation outlasts its first progress report.
      const loop = await loopDevice(dir, 4 * 1024 ** 3);
      const def = await fsDriver.validate({ name: 'conf', type: 'fs', target: path.join(dir, 'mnt'), autostart: false, source: { devices: [loop.device], fsFormat }, secrets: {} });
      return {
        def,
        cleanup: async () => {
          await loop.detach();
          await cleanup();
        },
      };
    },
  };
}

for (const format of ['ext4', 'xfs'] as const) {
  storageDriverConformance(`fs (${format})`, fixture(format));
  storageDataConformance(`fs (${format})`, fixture(format));
  // xfs shares extents (reflink clones and raw snapshots), ext4 does not: both tables are checked.
  capabilityConformance(`fs (${format})`, {
    async define(t) {
      const loop = await loopDevice(t.home, 400 * 1024 ** 2, `caps-${format}.img`);
      return { body: { name: 'caps', type: 'fs', target: path.join(t.home, 'caps'), source: { devices: [loop.device], fsFormat: format } }, cleanup: () => loop.detach() };
    },
  });
}
