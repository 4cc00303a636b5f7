import { KvmpoolError, errors } from '../../../model/errors.js';
import { checkDevicePath } from '../../../model/paths.js';
import type { PoolStatus } from '../../../model/types.js';
import type { Capabilities } from '../../../model/capabilities.js';
import { assertDeviceEmpty, assertDeviceFree, blockDeviceSize, wipeSignatures } from '../../../host/blockdev.js';
import * as parts from '../../../host/partitions.js';
import type { StorageDriver } from '../driver.js';
import * as volumes from './disk-volumes.js';
import { wipeBlockVolume } from '../block/block-data.js';
import { ALIGN, diskOf } from './disk-volumes.js';
import { readDiskTable } from './disk-table.js';

/** How build records the table it wrote (by the table's id), so delete removes only that one. */
const BUILT_LABEL = 'label:';

/** Partitions are raw; they are made, copied into, wiped and transferred, not resized or snapshotted. */
const DISK_CAPABILITIES: Capabilities = {
  base: { raw: ['delete', 'clone', 'wipe', 'upload', 'download'] },
  reflink: {},
};

/** The `disk` pool: a whole disk with a partition table (gpt or dos); volumes are its partitions. */
export const diskDriver: StorageDriver = {
  type: 'disk',
  capabilities: DISK_CAPABILITIES,
  createFormats: ['raw'],
  listsWhenStopped: true,

  async validate(def) {
    const { devices, label, ...other } = def.source ?? {};
    if (devices?.length !== 1) throw errors.invalid('a disk pool needs exactly one whole disk (--source /dev/X)');
    if (Object.keys(other).length > 0) throw errors.invalid(`a disk pool takes a disk and a partition table type, not ${Object.keys(other).join(', ')}`);
    if (def.target !== '' && def.target !== '/dev') throw errors.invalid("the target of a disk pool is '/dev', where its partitions appear");
    return { ...def, target: '/dev', source: { devices: [checkDevicePath(devices[0])], label: label ?? 'gpt' } };
  },

  async build(def, _ctx, options = {}) {
    const disk = diskOf(def);
    const size = await blockDeviceSize(disk);
    const existing = await parts.readTable(disk).catch(() => undefined);
    if (!options.overwrite && existing && options.built?.includes(`${BUILT_LABEL}${existing.id}`)) return [];
    if (size < 4 * ALIGN) throw errors.invalid(`disk ${disk} is too small: ${size} bytes`, { device: disk, size });
    await assertDeviceFree(disk);
    await assertDeviceEmpty(disk, options.overwrite === true);
    if (options.overwrite) await wipeSignatures(disk);
    await parts.writeLabel(disk, def.source?.label ?? 'gpt');
    const made = await parts.readTable(disk);
    if (!made) throw new KvmpoolError('INTERNAL', `sfdisk left no partition table on ${disk}`);
    return [`${BUILT_LABEL}${made.id}`];
  },

  async start(def) {
    const t = await volumes.table(def);
    if (t.label !== (def.source?.label ?? 'gpt')) {
      throw new KvmpoolError('POOL_NOT_BUILT', `${diskOf(def)} has a ${t.label} partition table, pool '${def.name}' expects ${def.source?.label}`, { pool: def.name });
    }
  },

  async stop() {},

  async delete(def, created) {
    const disk = diskOf(def);
    const t = await parts.readTable(disk).catch(() => undefined);
    if (!t || !created.includes(`${BUILT_LABEL}${t.id}`)) return;
    if (t.partitions.length > 0) {
      throw new KvmpoolError('POOL_NOT_EMPTY', `cannot delete pool '${def.name}': ${disk} still holds ${t.partitions.length} partition(s)`, { pool: def.name });
    }
    await assertDeviceFree(disk);
    await wipeSignatures(disk);
  },

  async status(def, detail = true): Promise<PoolStatus> {
    const disk = diskOf(def);
    const size = await blockDeviceSize(disk).catch(() => undefined);
    const empty = { capacity: 0, allocation: 0, available: 0 };
    if (size === undefined) return { state: 'degraded', reason: `disk ${disk} is missing`, ...empty };
    const t = await readDiskTable(disk).catch(() => undefined);
    if (!t) return { state: 'degraded', reason: `disk ${disk} has no partition table`, ...empty };
    const allocation = t.partitions.reduce((n, p) => n + p.size, 0);
    const free = parts.freeExtents(t, ALIGN);
    const available = free.reduce((n, e) => n + e.size, 0);
    return { state: 'running', capacity: size, allocation, available, ...(detail ? { devices: [{ path: disk, size, free: available }], freeExtents: free } : {}) };
  },

  async probe() {
    return { reflink: false, directIO: true };
  },

  listVolumes: (def) => volumes.listPartitions(def),
  volumeInfo: (def, _known, name) => volumes.readPartition(def, name),
  createVolume: (def, spec, ctx) => volumes.createPartition(def, spec, ctx),
  deleteVolume: (def, vol) => volumes.deletePartition(def, vol),
  resizeVolume: async () => {
    throw errors.notSupported('partitions of a disk pool are not resized');
  },
  renameVolume: async () => {
    throw errors.notSupported('partitions of a disk pool are not renamed');
  },
  volumeUsers: (_def, vol) => volumes.partitionUsers(vol),
  discardPartial: async () => {},
  finishRename: async () => {},
  cloneVolume: async () => {
    throw errors.notSupported('partitions have no instant clones: use --method copy');
  },
  copyVolume: (def, source, target, _traits, ctx) => volumes.copyIntoPartition(def, source, target, ctx),
  listSnapshots: async () => [],
  createSnapshot: async () => {
    throw errors.notSupported('partitions have no snapshots');
  },
  revertSnapshot: async () => {
    throw errors.notSupported('partitions have no snapshots');
  },
  deleteSnapshot: async () => {
    throw errors.notSupported('partitions have no snapshots');
  },
  dataExtents: async (_def, vol) => [{ start: 0, length: vol.capacity, data: true }],
  // No room to stage a second copy: an upload writes the partition in place.
  uploadStage: async (_def, vol) => ({ path: vol.path, create: false, zeroHoles: true }),
  commitUpload: (def, vol, _staged, end, grow) => volumes.commitPartitionUpload(def, vol, end, grow),
  discardUpload: async () => {},
  wipeVolume: async (def, vol, algorithm, verify, ctx) => {
    await wipeBlockVolume(vol, algorithm, verify, false, ctx);
    return volumes.readPartition(def, vol.name);
  },
};
