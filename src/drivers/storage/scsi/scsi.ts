import { Type, type Static } from 'typebox';
import { KvmpoolError, errors } from '../../../model/errors.js';
import type { PoolDefinition, PoolStatus } from '../../../model/pool-types.js';
import type { VolumeFacts } from '../../../model/volume-types.js';
import { adapterDisks, adapterExists, checkAdapterName, rescanAdapter } from '../../../host/scsi.js';
import type { StorageDriver } from '../driver.js';
import { lunVolumeOps } from '../block/lun-volumes.js';

/** A scsi pool's settings: the adapter. */
export const ScsiSettings = Type.Object(
  { adapter: Type.String({ minLength: 1, maxLength: 16, description: 'the SCSI host adapter (host3; see pool sources --type scsi)' }) },
  { additionalProperties: false },
);
export type ScsiSource = Static<typeof ScsiSettings>;

/** Volumes of a scsi pool are the adapter's disks: none are made, so there are no options. */
export const ScsiVolumeOptions = Type.Object({}, { additionalProperties: false });

type Def = PoolDefinition<ScsiSource>;

/** A disk's volume name, by its address on the adapter: `lun-CHANNEL-TARGET-LUN`. */
const diskName = (d: { channel: number; target: number; lun: number }) => `lun-${d.channel}-${d.target}-${d.lun}`;

/** The adapter's disks as volumes (those whose block device the kernel has made). */
async function listDisks(def: Def): Promise<VolumeFacts[]> {
  return (await adapterDisks(def.source.adapter))
    .filter((d) => d.device !== undefined)
    .map((d) => ({ name: diskName(d), path: d.device!, format: 'raw', capacity: d.size, allocation: d.size, identity: `${def.source.adapter}:${diskName(d)}`, stamp: `${d.device}:${d.size}`, kind: 'lun' }));
}

async function readDisk(def: Def, name: string): Promise<VolumeFacts> {
  const v = (await listDisks(def)).find((x) => x.name === name);
  if (!v) throw errors.notFound('volume', `${def.name}/${name}`);
  return v;
}

/** How long the kernel may take to give newly found disks their block devices. */
const DISKS_WAIT_MS = 5000;

/** Rescans the adapter, then waits (a little) until every disk found has its block device. */
async function rescan(def: Def): Promise<void> {
  await rescanAdapter(def.source.adapter);
  for (const started = performance.now(); performance.now() - started < DISKS_WAIT_MS; await new Promise((r) => setTimeout(r, 200))) {
    if ((await adapterDisks(def.source.adapter)).every((d) => d.device !== undefined)) return;
  }
}

/**
 * The `scsi` pool: the disks of a SCSI host adapter (an HBA, a SAS or FC card). Start and refresh
 * rescan the adapter (bounded: the scan runs in a process killed after a minute); there is nothing to
 * log in to or out of. Like iSCSI LUNs, its disks are made
 * elsewhere: used, copied from, transferred and wiped, never created or deleted.
 */
export const scsiDriver: StorageDriver<ScsiSource, Record<string, never>> = {
  listsWhenStopped: false,

  async validate(def) {
    if (def.target !== '' && def.target !== '/dev') throw errors.invalid("the target of a scsi pool is '/dev', where its disks appear");
    return { ...def, target: '/dev', source: { adapter: checkAdapterName(def.source.adapter) } };
  },

  resources: (def) => ({ names: [`scsi:${def.source.adapter}`] }),

  build: async () => [],

  async start(def) {
    if (!(await adapterExists(def.source.adapter))) throw new KvmpoolError('NOT_FOUND', `there is no SCSI adapter ${def.source.adapter} (see pool sources --type scsi)`, { adapter: def.source.adapter });
    await rescan(def);
  },

  async stop() {},

  async delete() {},

  async status(def): Promise<PoolStatus> {
    if (!(await adapterExists(def.source.adapter))) return { state: 'degraded', reason: `SCSI adapter ${def.source.adapter} is gone`, capacity: 0, allocation: 0, available: 0 };
    const capacity = (await listDisks(def)).reduce((n, v) => n + v.capacity, 0);
    return { state: 'running', capacity, allocation: capacity, available: 0 };
  },

  // Disks added on the adapter show up (pool refresh; never periodically: a scan of some adapters
  // resets their links).
  rescan: (def) => rescan(def),

  listVolumes: (def) => listDisks(def),
  volumeInfo: (def, _known, name) => readDisk(def, name),
  ...lunVolumeOps(readDisk),
};
