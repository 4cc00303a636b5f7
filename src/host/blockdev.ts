import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { KvmpoolError, errors } from '../model/errors.js';
import { HostCommandError, run } from './exec.js';
import { outputOf } from './tool-output.js';
import { absent } from '../model/ignore.js';

/**
 * Block devices through wipefs, blkid and blockdev: pure argv builders, checked parsers, and functions
 * that each run one command (or none: checks by open and stat).
 */

/** A signature on a device that says it holds data: a file system, a partition table, an LVM PV. */
export interface DeviceSignature {
  type: string;
  offset: string;
  uuid?: string;
  label?: string;
}

const TIMEOUT = 60_000;

/** argv for blockdev that prints the device's size in bytes. */
export function sizeArgs(device: string): string[] {
  return ['--getsize64', device];
}

/** argv for blockdev that makes the kernel read the partition table again (fails while a partition is in use). */
export function rereadArgs(device: string): string[] {
  return ['--rereadpt', device];
}

/** argv for wipefs that lists the signatures on a device, changing nothing. */
export function probeArgs(device: string): string[] {
  return ['--no-act', '--json', device];
}

/** argv for wipefs that erases every signature on a device. */
export function wipeArgs(device: string): string[] {
  return ['--all', '--quiet', device];
}

/** argv for blkid that probes the device itself (`-p`: never its cache), as KEY=value lines. */
export function blkidArgs(device: string): string[] {
  return ['-p', '-o', 'export', device];
}

/** Parses `blockdev --getsize64` (`67108864\n`). */
export function parseSize(stdout: string): number {
  const text = stdout.trim();
  if (!/^\d+$/.test(text)) throw outputOf('blockdev', stdout).fail(`size '${text.slice(0, 40)}' is not a number of bytes`);
  return Number(text);
}

/**
 * Parses `wipefs --json`. Sample (util-linux 2.38): `{"signatures": [{"device": "loop0", "offset":
 * "0x438", "type": "ext4", "uuid": "3a3b4250-…", "label": "kvmtest"}]}`; `uuid` and `label` may be
 * null; a device without signatures prints an empty list (older versions print nothing).
 */
export function parseWipefs(json: string): DeviceSignature[] {
  if (json.trim() === '') return [];
  const out = outputOf('wipefs', json);
  const top = out.object(out.json(), 'the listing');
  const list = top['signatures'] === undefined ? [] : out.array(top['signatures'], 'signatures');
  return list.map((x) => {
    const s = out.object(x, 'a signature');
    const uuid = out.optString(s, 'uuid');
    const label = out.optString(s, 'label');
    return { type: out.string(s, 'type'), offset: out.string(s, 'offset'), ...(uuid ? { uuid } : {}), ...(label ? { label } : {}) };
  });
}

/**
 * Parses `blkid -p -o export`: `KEY=value` lines (`TYPE=ext4`, `UUID=…`, `USAGE=filesystem`,
 * `PTTYPE=gpt`); empty output (exit 2) means nothing was found.
 */
export function parseBlkid(stdout: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw outputOf('blkid', stdout).fail(`line '${line.slice(0, 40)}' is not KEY=value`);
    fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return fields;
}

/** The file system that `blkid` fields describe (type and UUID), or undefined when they describe none. */
export function fileSystemOf(fields: Record<string, string>): { type: string; uuid: string } | undefined {
  return fields['USAGE'] === 'filesystem' && fields['TYPE'] ? { type: fields['TYPE'], uuid: fields['UUID'] ?? '' } : undefined;
}

/** The device's size in bytes; NOT_FOUND when it is missing, INVALID_ARGUMENT when it is not a block device. */
export async function blockDeviceSize(device: string): Promise<number> {
  const st = await stat(device).catch(absent);
  if (!st) throw new KvmpoolError('NOT_FOUND', `device ${device} does not exist`, { device });
  if (!st.isBlockDevice()) throw errors.invalid(`${device} is not a block device`, { device });
  const { stdout } = await run('blockdev', sizeArgs(device), { timeoutMs: TIMEOUT });
  return parseSize(stdout);
}

/** Makes the kernel read the device's partition table again (all partitions at once). */
export async function rereadPartitionTable(device: string): Promise<void> {
  await run('blockdev', rereadArgs(device), { timeoutMs: TIMEOUT });
}

/**
 * IN_USE when something holds the device: a mount, device-mapper (an active LV on it), a RAID, swap.
 * The kernel refuses an exclusive open of a block device that is in use (EBUSY).
 */
export async function assertDeviceFree(device: string): Promise<void> {
  const fh = await open(device, constants.O_RDONLY | constants.O_EXCL).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EBUSY') throw errors.inUse(`device ${device} is in use (mounted, or held by device-mapper, RAID or swap)`, { device });
    throw e;
  });
  await fh.close();
}

/** Signatures on the device, found by probing its content (wipefs, never a cache). */
export async function deviceSignatures(device: string): Promise<DeviceSignature[]> {
  const { stdout } = await run('wipefs', probeArgs(device), { timeoutMs: TIMEOUT });
  return parseWipefs(stdout);
}

/** Erases every signature on the device (its data becomes unreachable). */
export async function wipeSignatures(device: string): Promise<void> {
  await run('wipefs', wipeArgs(device), { timeoutMs: TIMEOUT });
}

/**
 * DEVICE_NOT_EMPTY when the device carries a file system, partition table or LVM signature, naming
 * them; nothing is refused with `overwrite` (the caller then wipes them).
 */
export async function assertDeviceEmpty(device: string, overwrite: boolean): Promise<DeviceSignature[]> {
  const found = await deviceSignatures(device);
  if (found.length > 0 && !overwrite) {
    throw new KvmpoolError('DEVICE_NOT_EMPTY', `device ${device} already carries ${found.map((s) => s.type).join(', ')}: pass --overwrite to erase it`, {
      device,
      signatures: found.map((s) => s.type),
    });
  }
  return found;
}

/** The file system on a device (type and UUID) by probing, or undefined when it has none. */
export async function fileSystemOn(device: string): Promise<{ type: string; uuid: string } | undefined> {
  // blkid -p exits 2 when it finds nothing; anything else (ambivalent signatures, no access) is an error.
  const out = await run('blkid', blkidArgs(device), { timeoutMs: TIMEOUT }).then(
    (r) => r.stdout,
    (e: unknown) => {
      if (e instanceof HostCommandError && e.details.exitCode === 2) return '';
      throw e;
    },
  );
  return fileSystemOf(parseBlkid(out));
}

/** True when both paths name the same block device (by device number: /dev/loop0 and a link to it match). */
export async function sameDevice(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([stat(a).catch(absent), stat(b).catch(absent)]);
  return x !== undefined && y !== undefined && x.isBlockDevice() && y.isBlockDevice() && x.rdev === y.rdev;
}
