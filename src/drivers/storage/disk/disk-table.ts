import { KvmpoolError } from '../../../model/errors.js';
import { blockDeviceSize, rereadPartitionTable } from '../../../host/blockdev.js';
import * as parts from '../../../host/partitions.js';
import type { PartitionTable } from '../../../host/partitions.js';
import { observedElsewhere } from '../../../model/ignore.js';

/** A disk's partition table as the disk pool changes it: read, add, delete, each change told to the kernel. */

/** The disk's table, or undefined when it has none; a DOS table ends where the disk does (its dump has no last usable LBA). */
export async function readDiskTable(disk: string): Promise<PartitionTable | undefined> {
  const dump = await parts.readTable(disk);
  if (!dump) return undefined;
  return { ...dump, last: dump.last ?? (await blockDeviceSize(disk)) };
}

/** One change of a disk's partition table at a time (each reads the table, then writes it). */
const tableLocks = new Map<string, Promise<unknown>>();

/** Runs `work` when no other change of `disk`'s table runs. */
export async function withTable<T>(disk: string, work: () => Promise<T>): Promise<T> {
  const before = tableLocks.get(disk) ?? Promise.resolve();
  const mine = before.then(work, work);
  tableLocks.set(disk, mine.catch(observedElsewhere));
  return mine;
}

/** Tells the kernel about the table's changes (partition nodes appear and go): partx, or a whole re-read where partx fails. */
export async function rereadPartitions(disk: string): Promise<void> {
  await parts.partxUpdate(disk).catch(() => rereadPartitionTable(disk));
}

/** Adds a partition at `start` of `size` bytes (both aligned), named on GPT, and makes its node appear; returns its number. */
export async function addPartitionAt(disk: string, table: PartitionTable, start: number, size: number, name?: string): Promise<number> {
  await parts.appendPartition(disk, table, start, size, name);
  await rereadPartitions(disk);
  const made = (await parts.readTable(disk))?.partitions.find((p) => p.start === start);
  if (!made) throw new KvmpoolError('INTERNAL', `sfdisk did not create a partition at ${start} on ${disk}`, { disk, start });
  return made.number;
}

/** Deletes partition `number` and makes its node go. */
export async function deletePartitionNumber(disk: string, number: number): Promise<void> {
  await parts.deletePartition(disk, number);
  await rereadPartitions(disk);
}
