import { HostCommandError, run, type ExecOptions } from './exec.js';
import { outputOf } from './tool-output.js';

/**
 * Partition tables through sfdisk (its JSON dump, and scripts on standard input) and partx: pure argv
 * and script builders, the dump's parser, and functions that each run one command. The disk pool
 * driver composes them (write, then tell the kernel, then read back).
 */

/** One partition of a table. */
export interface Partition {
  /** The partition's device node (/dev/sdb1). */
  node: string;
  /** Its number in the table. */
  number: number;
  /** Start and size in bytes. */
  start: number;
  size: number;
  /** GPT only: the partition's name and unique id. */
  name?: string;
  uuid?: string;
}

/** A disk's partition table, as far as the disk pool uses it. */
export interface PartitionTable {
  /** gpt or dos (or another type sfdisk reads: sun, sgi). */
  label: string;
  /** The table's id (GPT disk GUID, or the DOS disk identifier). */
  id: string;
  sectorSize: number;
  /** First and last usable byte offsets. */
  first: number;
  last: number;
  partitions: Partition[];
}

/** A table as sfdisk dumps it: a DOS table has no last usable LBA in the dump (the disk's end is). */
export type TableDump = Omit<PartitionTable, 'last'> & { last?: number };

const TIMEOUT = 60_000;

/** argv that dumps a disk's table as JSON. */
export function dumpArgs(device: string): string[] {
  return ['--json', device];
}

/** argv and script that write a new, empty partition table (wiping the old one's signatures). */
export function labelArgs(device: string, label: 'gpt' | 'dos'): { args: string[]; input: string } {
  return { args: ['--quiet', '--lock', '--wipe', 'always', device], input: `label: ${label}\n` };
}

/**
 * argv and script that append a partition at `start` of `size` bytes (both multiples of the sector
 * size), named on GPT (the name is one the disk pool checked: no quotes or commas). The kernel is not
 * told: `--no-reread`, then partx.
 */
export function appendArgs(device: string, table: Pick<PartitionTable, 'label' | 'sectorSize'>, start: number, size: number, name?: string): { args: string[]; input: string } {
  const fields = [`start=${start / table.sectorSize}`, `size=${size / table.sectorSize}`, ...(table.label === 'gpt' && name ? [`name="${name}"`] : [])];
  return { args: ['--quiet', '--lock', '--append', '--no-reread', device], input: `${fields.join(', ')}\n` };
}

/** argv that deletes partition `number` from the table (the kernel is not told). */
export function deleteArgs(device: string, number: number): string[] {
  return ['--quiet', '--lock', '--delete', '--no-reread', device, String(number)];
}

/** argv for partx, which tells the kernel about a table's changes (partition nodes appear and go). */
export function partxUpdateArgs(device: string): string[] {
  return ['--update', device];
}

/**
 * Parses `sfdisk --json` (util-linux 2.38). Sample:
 * `{"partitiontable": {"label": "gpt", "id": "A447084B-…", "device": "/dev/sdb", "unit": "sectors",
 *   "firstlba": 2048, "lastlba": 131038, "sectorsize": 512, "partitions": [{"node": "/dev/sdb1",
 *   "start": 2048, "size": 20480, "type": "0FC63DAF-…", "uuid": "DDF75FB1-…", "name": "boot"}]}}`.
 * A DOS dump has no firstlba, lastlba, uuid or name; a table without partitions has no `partitions`.
 */
export function parseSfdisk(json: string): TableDump {
  const out = outputOf('sfdisk', json);
  const t = out.object(out.object(out.json(), 'the dump').partitiontable, 'partitiontable');
  const label = out.string(t, 'label');
  const sector = out.optNumber(t, 'sectorsize') ?? 512;
  if (!Number.isInteger(sector) || sector <= 0) throw out.fail(`sector size ${sector}`);
  const firstLba = out.optNumber(t, 'firstlba') ?? 2048;
  const lastLba = out.optNumber(t, 'lastlba');
  const parts = t['partitions'] === undefined ? [] : out.array(t['partitions'], 'partitions');
  const table: TableDump = {
    label,
    id: out.string(t, 'id'),
    sectorSize: sector,
    first: firstLba * sector,
    partitions: parts.map((x) => {
      const p = out.object(x, 'a partition');
      const node = out.string(p, 'node');
      const number = /(\d+)$/.exec(node)?.[1];
      if (number === undefined) throw out.fail(`partition node ${node} has no number`);
      const part: Partition = { node, number: Number(number), start: out.number(p, 'start') * sector, size: out.number(p, 'size') * sector };
      const name = out.optString(p, 'name');
      const uuid = out.optString(p, 'uuid');
      if (name) part.name = name;
      if (uuid !== undefined) part.uuid = uuid;
      return part;
    }),
  };
  if (lastLba !== undefined && lastLba > 0) table.last = (lastLba + 1) * sector;
  return table;
}

async function sfdisk(args: string[], options: ExecOptions = {}): Promise<string> {
  return (await run('sfdisk', args, { timeoutMs: TIMEOUT, ...options })).stdout;
}

/** The disk's partition table as sfdisk dumps it, or undefined when it has none. */
export async function readTable(device: string): Promise<TableDump | undefined> {
  const out = await sfdisk(dumpArgs(device)).catch((e: unknown) => {
    if (e instanceof HostCommandError && /does not contain a recognized partition table/i.test(e.details.stderr)) return '';
    throw e;
  });
  return out.trim() === '' ? undefined : parseSfdisk(out);
}

/** Writes a new, empty partition table. */
export async function writeLabel(device: string, label: 'gpt' | 'dos'): Promise<void> {
  const { args, input } = labelArgs(device, label);
  await sfdisk(args, { input });
}

/** Appends a partition to the table (see `appendArgs`); the kernel does not know it yet. */
export async function appendPartition(device: string, table: Pick<PartitionTable, 'label' | 'sectorSize'>, start: number, size: number, name?: string): Promise<void> {
  const { args, input } = appendArgs(device, table, start, size, name);
  await sfdisk(args, { input });
}

/** Deletes partition `number` from the table; the kernel still has its node until told. */
export async function deletePartition(device: string, number: number): Promise<void> {
  await sfdisk(deleteArgs(device, number));
}

/** Tells the kernel about the table's changes, partition by partition (fails where the disk is busy or partx cannot). */
export async function partxUpdate(device: string): Promise<void> {
  await run('partx', partxUpdateArgs(device), { timeoutMs: TIMEOUT });
}

/** Free ranges of the table (between partitions and at the ends), aligned to `align` bytes. */
export function freeExtents(table: PartitionTable, align = 1024 ** 2): { start: number; size: number }[] {
  const out: { start: number; size: number }[] = [];
  const up = (n: number) => Math.ceil(n / align) * align;
  const down = (n: number) => Math.floor(n / align) * align;
  let pos = up(Math.max(table.first, align));
  for (const p of [...table.partitions].sort((a, b) => a.start - b.start)) {
    if (down(p.start) > pos) out.push({ start: pos, size: down(p.start) - pos });
    pos = Math.max(pos, up(p.start + p.size));
  }
  if (down(table.last) > pos) out.push({ start: pos, size: down(table.last) - pos });
  return out;
}
