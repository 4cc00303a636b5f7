import { logicalDriver } from '../../../src/drivers/storage/logical/logical.js';
import { storageDataConformance, storageDriverConformance, type ConformanceFixture } from '../../conformance/storage-driver.js';
import { capabilityConformance } from '../../conformance/capabilities.js';
import { blankDisks, disks } from './disks.js';

const fixture: ConformanceFixture = {
  driver: logicalDriver,
  // Volumes are thin (sparse, instant clones) unless fully preallocated: what a user of the pool asks for.
  createOptions: { thin: true },
  async makePool() {
    const [a, b] = disks();
    await blankDisks();
    const def = await logicalDriver.validate({ name: 'conf', type: 'logical', target: '', autostart: false, source: { devices: [a!, b!], vg: 'kconf', thinPool: 256 * 1024 ** 2 }, secrets: {} });
    return { def, cleanup: () => blankDisks() };
  },
  skip: {
    qcow2: 'volumes of a logical pool are raw LVs',
    'cancel-prealloc': 'an LV is allocated when it is created: there is no long preallocation to cancel',
  },
};

storageDriverConformance('logical', fixture);
storageDataConformance('logical', fixture);

// Thick and thin volumes differ in what they can do (a thin one clones instantly): both are checked.
for (const [what, createOptions, snapshotOptions] of [['thin', { thin: true }, {}], ['thick', {}, { size: '4M' }]] as const) {
  capabilityConformance(`logical (${what} volumes)`, {
    createOptions,
    // A thick LV's snapshot is copy-on-write: it needs room for changes.
    snapshotOptions,
    async define() {
      const [a, b] = disks();
      await blankDisks();
      return { body: { name: 'caps', type: 'logical', source: { devices: [a!, b!], vg: 'kcaps', thinPool: '256M' } }, cleanup: () => blankDisks() };
    },
  });
}
