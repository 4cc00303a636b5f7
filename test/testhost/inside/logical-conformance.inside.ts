import { logicalDriver } from '../../../src/drivers/storage/logical/logical.js';
import type { StorageDriver } from '../../../src/drivers/storage/driver.js';
import { storageDataConformance, storageDriverConformance, type ConformanceFixture } from '../../conformance/storage-driver.js';
import { blankDisks, disks } from './disks.js';

/** Every volume the suite makes is thin (sparse) unless it asks for full preallocation (a thick LV). */
const driver: StorageDriver = {
  ...logicalDriver,
  createVolume: (def, spec, ctx) => logicalDriver.createVolume(def, { ...spec, thin: spec.prealloc !== 'full' }, ctx),
};

const fixture: ConformanceFixture = {
  driver,
  async makePool() {
    const [a, b] = disks();
    await blankDisks();
    const def = await logicalDriver.validate({ name: 'conf', type: 'logical', target: '', autostart: false, source: { devices: [a!, b!], vg: 'kconf', thinPool: 256 * 1024 ** 2 } });
    return { def, cleanup: () => blankDisks() };
  },
  skip: {
    qcow2: 'volumes of a logical pool are raw LVs',
    'cancel-prealloc': 'an LV is allocated when it is created: there is no long preallocation to cancel',
  },
};

storageDriverConformance('logical', fixture);
storageDataConformance('logical', fixture);
