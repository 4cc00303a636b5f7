import { KvmpoolError, errors } from '../../../model/errors.js';
import type { PoolDefinition as Definition } from '../../../model/pool-types.js';
import type { VolumeFacts } from '../../../model/volume-types.js';
import type { DiskSource } from './disk-settings.js';

type PoolDefinition = Definition<DiskSource>;
import { assertDeviceFree, wipeSignatures } from '../../../host/blockdev.js';
import { processesUsing } from '../../../host/open-files.js';
import { Reverter } from '../../../model/reverter.js';
import * as parts from '../../../host/partitions.js';
import type { Partition, PartitionTable } from '../../../host/partitions.js';
import { addPartitionAt, deletePartitionNumber, readDiskTable, withTable } from './disk-table.js';
import { convertInto, zeroRange } from '../block/block-data.js';
import type { CloneTarget, CopySource, OpContext, VolumeSpec } from '../driver.js';

/** Partitions start and end on 1 MiB boundaries (what every tool and disk is happy with). */
export const ALIGN = 1024 ** 2;

export const diskOf = (def: PoolDefinition): string => def.source.devices[0]!;

/** The disk's table; POOL_NOT_BUILT when it has none. */
export async function table(def: PoolDefinition): Promise<PartitionTable> {
  const t = await readDiskTable(diskOf(def));
  if (!t) throw new KvmpoolError('POOL_NOT_BUILT', `${diskOf(def)} has no partition table (run 'pool build')`, { pool: def.name });
  return t;
}

/** A volume's name: the GPT partition name, or the node's name (sdb1) where there is none. */
const volumeName = (p: Partition) => p.name ?? p.node.slice(p.node.lastIndexOf('/') + 1);

function facts(def: PoolDefinition, t: PartitionTable, p: Partition): VolumeFacts {
  return {
    name: volumeName(p),
    path: p.node,
    format: 'raw',
    capacity: p.size,
    allocation: p.size,
    identity: p.uuid ?? `${t.id}:${p.start}`,
    stamp: `${p.start}:${p.size}`,
    kind: 'partition',
  };
}

export async function listPartitions(def: PoolDefinition): Promise<VolumeFacts[]> {
  const t = await table(def);
  return t.partitions.map((p) => facts(def, t, p));
}

export async function readPartition(def: PoolDefinition, name: string): Promise<VolumeFacts> {
  const t = await table(def);
  const p = t.partitions.find((x) => volumeName(x) === name);
  if (!p) throw errors.notFound('volume', `${def.name}/${name}`);
  return facts(def, t, p);
}

/** The kernel's name of partition `n` of a disk: sdb2, but nvme0n1p2 and loop0p2 after a digit. */
function partitionName(disk: string, n: number): string {
  const base = disk.slice(disk.lastIndexOf('/') + 1);
  return /\d$/.test(base) ? `${base}p${n}` : `${base}${n}`;
}

/** GPT names are up to 36 characters; a DOS table names partitions by their node only. */
function checkName(t: PartitionTable, disk: string, name: string, next: number): void {
  if (t.label === 'gpt') {
    if (name.length > 36 || !/^[A-Za-z0-9+_.-]+$/.test(name)) throw errors.invalid(`partition name '${name}' must be 1 to 36 letters, digits or + _ . -`, { name });
    return;
  }
  const expected = partitionName(disk, next);
  if (name !== expected) throw errors.invalid(`on a dos partition table volumes are named by their partition: the next one is '${expected}'`, { name, expected });
}

/** Creates a partition of at least `capacity` bytes (rounded up to 1 MiB) in the first free extent it fits. */
export async function createPartition(def: PoolDefinition, spec: VolumeSpec<object>, ctx: OpContext): Promise<VolumeFacts> {
  if (spec.format !== 'raw') throw errors.notSupported(`volumes of a disk pool are raw partitions, not ${spec.format}`);
  return withTable(diskOf(def), () => addVolume(def, spec, ctx));
}

async function addVolume(def: PoolDefinition, spec: VolumeSpec<object>, ctx: OpContext): Promise<VolumeFacts> {
  const t = await table(def);
  const disk = diskOf(def);
  if (t.partitions.some((p) => volumeName(p) === spec.name)) throw errors.exists('volume', `${def.name}/${spec.name}`);
  const used = new Set(t.partitions.map((p) => p.number));
  let next = 1;
  while (used.has(next)) next++;
  checkName(t, disk, spec.name, next);
  if (t.label === 'dos' && t.partitions.length >= 4) throw new KvmpoolError('NO_SPACE', 'a dos partition table holds four partitions', { pool: def.name });
  const size = Math.ceil(spec.capacity / ALIGN) * ALIGN;
  const extent = parts.freeExtents(t, ALIGN).find((e) => e.size >= size);
  if (!extent) throw new KvmpoolError('NO_SPACE', `no free extent of ${size} bytes on ${disk}`, { pool: def.name, needed: size });
  ctx.progress(0, size);
  return Reverter.run(ctx.log, async (r) => {
    const number = await addPartitionAt(disk, t, extent.start, size, spec.name);
    r.add(`delete partition ${number} of ${disk}`, () => deletePartitionNumber(disk, number));
    const made = await readPartition(def, spec.name);
    // What an earlier partition there left (a file system, a PV label) must not show through.
    await wipeSignatures(made.path);
    await zeroRange(made.path, 0, Math.min(ALIGN, made.capacity));
    ctx.progress(size, size);
    return made;
  });
}

export async function deletePartition(def: PoolDefinition, vol: VolumeFacts): Promise<void> {
  await withTable(diskOf(def), async () => {
    const p = (await table(def)).partitions.find((x) => x.node === vol.path);
    if (!p) throw errors.notFound('volume', `${def.name}/${vol.name}`);
    await deletePartitionNumber(diskOf(def), p.number);
  });
}

/** Processes with the partition open; a mounted partition (or one under device-mapper) counts too. */
export async function partitionUsers(vol: VolumeFacts): Promise<string[]> {
  const users = (await processesUsing(vol.path)).map((u) => `${u.command}[${u.pid}]`);
  if (users.length > 0) return users;
  return assertDeviceFree(vol.path).then(
    () => [],
    () => ['the kernel (mounted, or under another device)'],
  );
}

/** A full copy into a new partition through qemu-img convert (written in place, O_DIRECT); removed again on failure. */
export async function copyIntoPartition(def: PoolDefinition, source: CopySource, target: CloneTarget, ctx: OpContext): Promise<VolumeFacts> {
  if (target.format !== 'raw') throw errors.notSupported('volumes of a disk pool are raw partitions: copy with --format raw');
  return Reverter.run(ctx.log, async (r) => {
    const made = await createPartition(def, { name: target.name, format: 'raw', capacity: source.capacity, prealloc: 'off', options: {} }, ctx);
    r.add(`delete partition ${made.path}`, () => deletePartition(def, made));
    await convertInto(source, made.path, false, ctx);
    return made;
  });
}

/** An upload into a partition is written in place; past its end, the partition is zeroed. */
export async function commitPartitionUpload(def: PoolDefinition, vol: VolumeFacts, end: number, grow: boolean): Promise<VolumeFacts> {
  if (grow) throw errors.notSupported('an upload cannot grow a partition');
  if (end > vol.capacity) throw errors.invalid(`the upload is ${end} bytes, larger than the partition (${vol.capacity})`);
  await zeroRange(vol.path, end, vol.capacity);
  return readPartition(def, vol.name);
}
