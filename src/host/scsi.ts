import { readdir, readFile } from 'node:fs/promises';
import { run } from './exec.js';
import path from 'node:path';
import { errors } from '../model/errors.js';
import { fallback } from '../model/ignore.js';

/** SCSI host adapters and their disks, from sysfs (/sys/class/scsi_host, the H:C:T:L devices under them). */

/** A disk (SCSI type 0) under an adapter or an iSCSI session: its address, block device (once made) and size. */
export interface ScsiDisk {
  channel: number;
  target: number;
  lun: number;
  device?: string;
  size: number;
}

const HOSTS = '/sys/class/scsi_host';
const read = (file: string) => readFile(file, 'utf8').then((t) => t.trim(), fallback(''));

/** The disks below a sysfs device directory (its target*\/H:C:T:L entries), in address order. */
export async function disksUnder(dir: string): Promise<ScsiDisk[]> {
  const disks: ScsiDisk[] = [];
  for (const t of (await readdir(dir).catch(fallback([] as string[]))).filter((d) => d.startsWith('target'))) {
    for (const hctl of await readdir(path.join(dir, t)).catch(fallback([] as string[]))) {
      const m = /^\d+:(\d+):(\d+):(\d+)$/.exec(hctl);
      // Disks only (SCSI type 0): not a controller LUN, an enclosure or a CD.
      if (!m || (await read(path.join(dir, t, hctl, 'type'))) !== '0') continue;
      const block = (await readdir(path.join(dir, t, hctl, 'block')).catch(fallback([] as string[])))[0];
      const size = block ? Number(await read(path.join(dir, t, hctl, 'block', block, 'size'))) * 512 : 0;
      disks.push({ channel: Number(m[1]), target: Number(m[2]), lun: Number(m[3]), ...(block ? { device: `/dev/${block}` } : {}), size });
    }
  }
  return disks.sort((a, b) => a.channel - b.channel || a.target - b.target || a.lun - b.lun);
}

/** A SCSI host adapter: its name (host3) and driver (ahci, qla2xxx, scsi_debug, iscsi_tcp...). */
export interface ScsiHost {
  name: string;
  driver: string;
}

/** Every SCSI host adapter of the machine. */
export async function scsiHosts(): Promise<ScsiHost[]> {
  const names = (await readdir(HOSTS).catch(fallback([] as string[]))).filter((n) => /^host\d+$/.test(n));
  const hosts = await Promise.all(names.map(async (name) => ({ name, driver: await read(path.join(HOSTS, name, 'proc_name')) })));
  return hosts.sort((a, b) => Number(a.name.slice(4)) - Number(b.name.slice(4)));
}

/** `host3` checked as an adapter name. */
export function checkAdapterName(name: string): string {
  if (!/^host\d{1,5}$/.test(name)) throw errors.invalid(`adapter '${name}' is not a SCSI host name (host0, host3, ...)`, { adapter: name });
  return name;
}

/** The disks of adapter `name` (NOT_FOUND when there is no such adapter). */
export async function adapterDisks(name: string): Promise<ScsiDisk[]> {
  if (!(await adapterExists(name))) throw errors.notFound('SCSI adapter', name);
  return disksUnder(path.join(HOSTS, name, 'device'));
}

/** Whether the adapter exists. */
export async function adapterExists(name: string): Promise<boolean> {
  return (await readdir(path.join(HOSTS, checkAdapterName(name))).catch(fallback(undefined))) !== undefined;
}

/**
 * Asks the adapter to look for new disks on every channel, target and LUN (`- - -`). The write returns
 * when the scan ends, which on some adapters takes long: it runs in a process (tee) killed after a minute.
 */
export async function rescanAdapter(name: string): Promise<void> {
  await run('tee', [path.join(HOSTS, checkAdapterName(name), 'scan')], { input: '- - -', timeoutMs: 60_000, killGraceMs: 1000 });
}
