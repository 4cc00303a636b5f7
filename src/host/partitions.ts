import { HostCommandError, run } from './exec.js';
import { blockDeviceSize } from './blockdev.js';

/** Partition tables through sfdisk: its JSON dump, and scripts on standard input. */

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

export interface PartitionTable {
  label: 'gpt' | 'dos';
  /** The table's id (GPT disk GUID, or the DOS disk identifier). */
  id: string;
  sectorSize: number;
  /** First and last usable byte offsets. */
  first: number;
  last: number;
  partitions: Partition[];
}

/** Parses `sfdisk --json`. */
function parseSfdisk(json: string): PartitionTable {
  const t = (JSON.parse(json) as { partitiontable: Record<string, unknown> }).partitiontable;
  const sector = Number(t['sectorsize'] ?? 512);
  const parts = (t['partitions'] as Record<string, unknown>[] | undefined) ?? [];
  const firstLba = Number(t['firstlba'] ?? 2048);
  const lastLba = Number(t['lastlba'] ?? 0);
  return {
    label: t['label'] as 'gpt' | 'dos',
    id: String(t['id'] ?? ''),
    sectorSize: sector,
    first: firstLba * sector,
    last: lastLba > 0 ? (lastLba + 1) * sector : 0,
    partitions: parts.map((p) => {
      const node = String(p['node']);
      const part: Partition = { node, number: Number(/(\d+)$/.exec(node)?.[1] ?? 0), start: Number(p['start']) * sector, size: Number(p['size']) * sector };
      if (typeof p['name'] === 'string' && p['name'] !== '') part.name = p['name'];
      if (typeof p['uuid'] === 'string') part.uuid = p['uuid'];
      return part;
    }),
  };
}

/** The disk's partition table, or undefined when it has none. */
export async function readTable(device: string): Promise<PartitionTable | undefined> {
  const out = await run('sfdisk', ['--json', device]).then(
    (r) => r.stdout,
    (e: unknown) => {
      if (e instanceof HostCommandError && /does not contain a recognized partition table/i.test(e.details.stderr)) return '';
      throw e;
    },
  );
  if (out.trim() === '') return undefined;
  const table = parseSfdisk(out);
  // A DOS table has no last usable LBA in the dump: the disk's end is.
  if (table.last === 0) table.last = await blockDeviceSize(device);
  return table;
}

/** Writes a new, empty partition table. */
export async function writeLabel(device: string, label: 'gpt' | 'dos'): Promise<void> {
  await run('sfdisk', ['--quiet', '--lock', '--wipe', 'always', device], { input: `label: ${label}\n` });
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

/** Adds a partition at `start` of `size` bytes (both aligned), named on GPT; returns its number. */
export async function addPartition(device: string, table: PartitionTable, start: number, size: number, name?: string): Promise<number> {
  const fields = [`start=${start / table.sectorSize}`, `size=${size / table.sectorSize}`, ...(table.label === 'gpt' && name ? [`name="${name}"`] : [])];
  await run('sfdisk', ['--quiet', '--lock', '--append', '--no-reread', device], { input: `${fields.join(', ')}\n` });
  await rereadPartitions(device);
  const after = await readTable(device);
  const made = after?.partitions.find((p) => p.start === start);
  if (!made) throw new Error(`sfdisk did not create a partition at ${start} on ${device}`);
  return made.number;
}

export async function deletePartition(device: string, number: number): Promise<void> {
  await run('sfdisk', ['--quiet', '--lock', '--delete', '--no-reread', device, String(number)]);
  await rereadPartitions(device);
}

/** Tells the kernel about the table's changes (partition nodes appear and go). */
async function rereadPartitions(device: string): Promise<void> {
  await run('partx', ['--update', device]).catch(() => run('blockdev', ['--rereadpt', device]));
}
