import path from 'node:path';
import { dirDriver } from '../../src/drivers/storage/dir/dir.js';
import { tempDir } from '../helpers/tmp.js';
import { storageDataConformance, storageDriverConformance, type ConformanceFixture } from './storage-driver.js';
import { capabilityConformance } from './capabilities.js';

const fixture: ConformanceFixture = {
  driver: dirDriver,
  async makePool() {
    const { dir, cleanup } = await tempDir();
    return { def: { name: 'conf', type: 'dir', target: path.join(dir, 'pool', 'images'), autostart: false, source: {}, secrets: {} }, cleanup };
  },
};

storageDriverConformance('dir', fixture);
storageDataConformance('dir', fixture);

capabilityConformance('dir', {
  async define(t) {
    return { body: { name: 'caps', type: 'dir', target: path.join(t.home, 'caps') }, cleanup: async () => {} };
  },
});
