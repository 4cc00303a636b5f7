import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { KvmpoolError, errors } from '../model/errors.js';
import { HostCommandError, run } from './exec.js';

/** A signature on a device that says it holds data: a file system, a partition table, an LVM PV. */
export interface DeviceSignature {
  type: string;
  offset: string;
  uuid?: string;
  label?: string;
}

/** The device's size in bytes; NOT_FOUND when it is missing, INVALID_ARGUMENT when it is not a block device. */
export async function blockDeviceSize(device: string): Promise<number> {
  const st = await stat(device).catch(() => undefined);
  if (!st) throw new KvmpoolError('NOT_FOUND', `device ${device} does not exist`, { device });
  if (!st.isBlockDevice()) throw errors.invalid(`${device} is not a block device`, { device });
  const { stdout } = await run('blockdev', ['--getsize64', device]);
  return Number(stdout.trim());
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
  const { stdout } = await run('wipefs', ['--no-act', '--json', device]);
  return parseWipefs(stdout);
}

/** Parses `wipefs --json`: empty output means no signatures. */
function parseWipefs(json: string): DeviceSignature[] {
  if (json.trim() === '') return [];
  const parsed = JSON.parse(json) as { signatures?: { type: string; offset: string; uuid?: string | null; label?: string | null }[] };
  return (parsed.signatures ?? []).map((s) => ({ type: s.type, offset: s.offset, ...(s.uuid ? { uuid: s.uuid } : {}), ...(s.label ? { label: s.label } : {}) }));
}

/** Erases every signature on the device (its data becomes unreachable). */
export async function wipeSignatures(device: string): Promise<void> {
  await run('wipefs', ['--all', '--quiet', device]);
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
  const out = await run('blkid', ['-p', '-o', 'export', device]).then(
    (r) => r.stdout,
    (e: unknown) => {
      if (e instanceof HostCommandError && e.details.exitCode === 2) return '';
      throw e;
    },
  );
  const fields = Object.fromEntries(out.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  return fields['USAGE'] === 'filesystem' && fields['TYPE'] ? { type: fields['TYPE'], uuid: fields['UUID'] ?? '' } : undefined;
}

/** True when both paths name the same block device (by device number: /dev/loop0 and a link to it match). */
export async function sameDevice(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([stat(a).catch(() => undefined), stat(b).catch(() => undefined)]);
  return x !== undefined && y !== undefined && x.isBlockDevice() && y.isBlockDevice() && x.rdev === y.rdev;
}
