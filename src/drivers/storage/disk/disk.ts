import { KvmpoolError, errors } from '../../../model/errors.js';
import { checkDevicePath } from '../../../model/paths.js';
import type { PoolStatus } from '../../../model/pool-types.js';
import type { Static } from 'typebox';
import { assertDeviceEmpty, assertDeviceFree, blockDeviceSize, wipeSignatures } from '../../../host/blockdev.js';
import * as parts from '../../../host/partitions.js';
import type { StorageDriver } from '../driver.js';
import * as volumes from './disk-volumes.js';
import { wipeBlockVolume } from '../block/block-data.js';
import { ALIGN, diskOf } from './disk-volumes.js';
import { readDiskTable } from './disk-table.js';
import type { DiskSource, DiskVolumeOptions } from './disk-settings.js';
import { absent } from '../../../model/ignore.js';

/** How build records the table it wrote (by the table's id), so delete removes only that one. */
const BUILT_LABEL = 'label:';

/** The `disk` pool: a whole disk with a partition table (gpt or dos); volumes are its partitions. */
export const diskDriver: StorageDriver<DiskSource, Static<typeof DiskVolumeOptions>> = {
  listsWhenStopped: true,

  async validate(def) {
    const { devices, label } = def.source;
    if (devices?.length !== 1) throw errors.invalid('a disk pool needs exactly one whole disk (--source /dev/X)');
    if (def.target !== '' && def.target !== '/dev') throw errors.invalid("the target of a disk pool is '/dev', where its partitions appear");
    return { ...def, target: '/dev', source: { devices: [checkDevicePath(devices[0])], label: label ?? 'gpt' } };
  },

  resources: (def) => ({ devices: def.source.devices }),

  async build(def, _ctx, options = {}) {
    const disk = diskOf(def);
    const size = await blockDeviceSize(disk);
    const existing = await parts.readTable(disk).catch(absent);
    if (!options.overwrite && existing && options.built?.includes(`${BUILT_LABEL}${existing.id}`)) return [];
    if (size < 4 * ALIGN) throw errors.invalid(`disk ${disk} is too small: ${size} bytes`, { device: disk, size });
    await assertDeviceFree(disk);
    await assertDeviceEmpty(disk, options.overwrite === true);
    if (options.overwrite) await wipeSignatures(disk);
    await parts.writeLabel(disk, def.source.label ?? 'gpt');
    const made = await parts.readTable(disk);
    if (!made) throw new KvmpoolError('INTERNAL', `sfdisk left no partition table on ${disk}`);
    return [`${BUILT_LABEL}${made.id}`];
  },

  async start(def) {
    const t = await volumes.table(def);
    if (t.label !== (def.source.label ?? 'gpt')) {
      throw new KvmpoolError('POOL_NOT_BUILT', `${diskOf(def)} has a ${t.label} partition table, pool '${def.name}' expects ${def.source.label}`, { pool: def.name });
    }
  },

  async stop() {},

  async delete(def, created) {
    const disk = diskOf(def);
    const t = await parts.readTable(disk).catch(absent);
    if (!t || !created.includes(`${BUILT_LABEL}${t.id}`)) return;
    if (t.partitions.length > 0) {
      throw new KvmpoolError('POOL_NOT_EMPTY', `cannot delete pool '${def.name}': ${disk} still holds ${t.partitions.length} partition(s)`, { pool: def.name });
    }
    await assertDeviceFree(disk);
    await wipeSignatures(disk);
  },

  async status(def, detail = true): Promise<PoolStatus> {
    const disk = diskOf(def);
    const size = await blockDeviceSize(disk).catch(absent);
    const empty = { capacity: 0, allocation: 0, available: 0 };
    if (size === undefined) return { state: 'degraded', reason: `disk ${disk} is missing`, ...empty };
    const t = await readDiskTable(disk).catch(absent);
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
  volumeUsers: (_def, vol) => volumes.partitionUsers(vol),
  access: (_def, vol) => ({ access: { kind: 'block', path: vol.path }, directIO: true, discard: false }),
  volumes: {
    formats: ['raw'],
    create: (def, spec, ctx) => volumes.createPartition(def, spec, ctx),
    delete: (def, vol) => volumes.deletePartition(def, vol),
  },
  copy: { copyInto: (def, source, target, _traits, ctx) => volumes.copyIntoPartition(def, source, target, ctx) },
  transfers: {
    dataExtents: async (_def, vol) => [{ start: 0, length: vol.capacity, data: true }],
    // No room to stage a second copy: an upload writes the partition in place.
    stage: async (_def, vol) => ({ access: { kind: 'block', path: vol.path }, create: false, zeroHoles: true }),
    commit: (def, vol, _stage, end, grow) => volumes.commitPartitionUpload(def, vol, end, grow),
    discard: async () => {},
  },
  wipe: {
    wipe: async (def, vol, algorithm, verify, ctx) => {
      await wipeBlockVolume(vol, algorithm, verify, false, ctx);
      return volumes.readPartition(def, vol.name);
    },
  },
};
