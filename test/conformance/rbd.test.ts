import { randomBytes } from 'node:crypto';
import { rbdDriver } from '../../src/drivers/storage/rbd/rbd.js';
import type { PoolDefinition } from '../../src/model/pool-types.js';
import { cephForFile } from '../helpers/ceph.js';
import { capabilityConformance } from './capabilities.js';
import { storageDataConformance, storageDriverConformance, type ConformanceFixture } from './storage-driver.js';

/** One throw-away cluster for the file; each pool of the suite is a namespace of its own in Ceph pool `vms`. */
const ceph = cephForFile(['vms']);

const namespace = () => `ns-${randomBytes(4).toString('hex')}`;

/** A pool in a fresh namespace, which build makes (createPool) and delete removes. */
async function definition(): Promise<PoolDefinition> {
  const source = { monitors: [ceph.cluster.monitor], rbdPool: 'vms', namespace: namespace(), user: 'kvmpool', createPool: true };
  return rbdDriver.validate({ name: 'conf', type: 'rbd', target: '', autostart: false, source, secrets: { key: ceph.keyFile } });
}

const fixture: ConformanceFixture = {
  driver: rbdDriver,
  async makePool() {
    const def = await definition();
    return { def, cleanup: async () => {} };
  },
  skip: {
    qcow2: 'RBD images are raw',
    'prealloc-full': 'RBD images are thin: there is no preallocation',
  },
  remoteUsers: true,
};

storageDriverConformance('rbd', fixture);
storageDataConformance('rbd', fixture);

capabilityConformance('rbd', {
  async define() {
    return {
      body: { name: 'caps', type: 'rbd', source: { monitors: [ceph.cluster.monitor], rbdPool: 'vms', namespace: namespace(), user: 'kvmpool', createPool: true, key: ceph.key } },
      cleanup: async () => {},
    };
  },
});
