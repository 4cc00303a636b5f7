import { open } from 'node:fs/promises';
import { KvmpoolError } from '../model/errors.js';

/** One internal snapshot of a qcow2 image, read from its snapshot table. */
export interface Qcow2Snapshot {
  id: string;
  name: string;
  /** Creation time, seconds since the epoch. */
  dateSec: number;
  /** The image's virtual size when the snapshot was taken (0 when the image predates the field). */
  diskSize: number;
  vmStateSize: number;
}

const MAX_SNAPSHOTS = 65536;
const MAX_TABLE_BYTES = 64 * 1024 * 1024;

/**
 * Parses a qcow2 snapshot table (qcow2 spec, "Snapshots"): fixed 40-byte entries with extra data
 * (vm_state_size_large, disk_size, icount), then id and name, padded to 8 bytes. `table` starts at
 * the header's snapshots_offset. Bounds are checked: a truncated or corrupt table is an error.
 */
export function parseSnapshotTable(table: Buffer, count: number): Qcow2Snapshot[] {
  const out: Qcow2Snapshot[] = [];
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > table.length) throw corrupt('snapshot table is truncated');
  };
  for (let i = 0; i < count; i++) {
    need(40);
    const idSize = table.readUInt16BE(pos + 12);
    const nameSize = table.readUInt16BE(pos + 14);
    const dateSec = table.readUInt32BE(pos + 16);
    let vmStateSize = table.readUInt32BE(pos + 32);
    const extraSize = table.readUInt32BE(pos + 36);
    need(40 + extraSize + idSize + nameSize);
    const extra = table.subarray(pos + 40, pos + 40 + extraSize);
    if (extra.length >= 8) vmStateSize = Number(extra.readBigUInt64BE(0));
    const diskSize = extra.length >= 16 ? Number(extra.readBigUInt64BE(8)) : 0;
    const idStart = pos + 40 + extraSize;
    const id = table.toString('utf8', idStart, idStart + idSize);
    const name = table.toString('utf8', idStart + idSize, idStart + idSize + nameSize);
    out.push({ id, name, dateSec, diskSize, vmStateSize });
    pos = Math.ceil((idStart + idSize + nameSize) / 8) * 8;
  }
  return out;
}

/** Reads the internal snapshots of the qcow2 image at `path`. */
export async function readQcow2Snapshots(path: string): Promise<Qcow2Snapshot[]> {
  const fh = await open(path, 'r');
  try {
    const header = Buffer.alloc(72);
    await fh.read(header, 0, 72, 0);
    if (header.readUInt32BE(0) !== 0x514649fb) throw corrupt('not a qcow2 image');
    const count = header.readUInt32BE(60);
    const offset = Number(header.readBigUInt64BE(64));
    if (count === 0) return [];
    if (count > MAX_SNAPSHOTS) throw corrupt(`implausible snapshot count ${count}`);
    // Entries are at most 40 + extra + id + name bytes; read generously, bounded.
    const size = Math.min(MAX_TABLE_BYTES, count * 1024 + 65536);
    const table = Buffer.alloc(size);
    const { bytesRead } = await fh.read(table, 0, size, offset);
    return parseSnapshotTable(table.subarray(0, bytesRead), count);
  } finally {
    await fh.close();
  }
}

function corrupt(why: string): KvmpoolError {
  return new KvmpoolError('HOST_COMMAND_FAILED', `cannot read qcow2 snapshots: ${why}`);
}
