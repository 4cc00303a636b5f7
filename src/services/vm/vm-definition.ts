import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { errors } from '../../model/errors.js';
import { parsePortRef, volumeRef } from '../../model/names.js';
import { parseSize } from '../../model/sizes.js';
import { DISK_BUSES, type DiskBus, type VmDefinition, type VmDisk, type VmNic } from '../../model/vm-types.js';

/** A disk as `define` and `attach-disk` accept it. */
export interface DiskInput {
  pool: string;
  volume: string;
  bus?: string;
  readonly?: boolean;
}

/** What `define` accepts. */
export interface DefineVmInput {
  name: string;
  cpus: number;
  memory: number | string;
  disks?: DiskInput[];
  nics?: { network: string; port: string }[];
  kernel?: string;
  initrd?: string;
  append?: string;
  boot?: string;
  autostart?: boolean;
}

export const MiB = 1024 * 1024;
const MIN_MEMORY = 16 * MiB;
const MAX_CPUS = 255;

/** A disk as given: `POOL/VOLUME`, a known bus (virtio by default), read-only or not. */
export function parseDisk(d: DiskInput): VmDisk {
  const { pool, volume } = volumeRef(d.pool, d.volume);
  const bus = (d.bus ?? 'virtio') as DiskBus;
  if (!DISK_BUSES.includes(bus)) throw errors.invalid(`unknown disk bus '${d.bus}': expected ${DISK_BUSES.join(', ')}`, { bus: d.bus });
  return { pool, volume, bus, readonly: d.readonly === true };
}

/** Validates the parts of a definition that need nothing but the input. */
export function parseDefinition(input: DefineVmInput): Omit<VmDefinition, 'name'> {
  const cpus = input.cpus;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_CPUS) throw errors.invalid(`invalid CPU count '${cpus}': expected 1..${MAX_CPUS}`, { cpus });
  const memory = parseSize(input.memory);
  const max = os.totalmem();
  if (memory < MIN_MEMORY || memory > max) throw errors.invalid(`invalid memory size ${memory}: expected 16 MiB to ${Math.floor(max / MiB)} MiB (the host's)`, { memory, max });
  if (memory % MiB !== 0) throw errors.invalid(`invalid memory size ${memory}: expected whole MiB`, { memory });
  const disks = (input.disks ?? []).map(parseDisk);
  const seen = new Set<string>();
  for (const d of disks) {
    const ref = `${d.pool}/${d.volume}`;
    if (seen.has(ref)) throw errors.invalid(`${ref} is given twice`, { volume: ref });
    seen.add(ref);
  }
  const nics: VmNic[] = (input.nics ?? []).map((n) => {
    const { network, port } = parsePortRef(`${n.network}/${n.port}`);
    return { network, port };
  });
  if (new Set(nics.map((n) => `${n.network}/${n.port}`)).size !== nics.length) throw errors.invalid('a port is given twice');
  if (input.boot !== undefined && input.boot !== 'disk' && input.boot !== 'cdrom') throw errors.invalid(`unknown boot device '${input.boot}': expected disk or cdrom`, { boot: input.boot });
  if ((input.initrd || input.append !== undefined) && !input.kernel) throw errors.invalid('--initrd and --append go with --kernel');
  for (const f of [input.kernel, input.initrd]) if (f !== undefined && !path.isAbsolute(f)) throw errors.invalid(`'${f}' is not an absolute path`, { file: f });
  return {
    uuid: randomUUID(),
    cpus,
    memory,
    disks,
    nics,
    ...(input.kernel ? { kernel: input.kernel } : {}),
    ...(input.initrd ? { initrd: input.initrd } : {}),
    ...(input.append !== undefined ? { append: input.append } : {}),
    ...(input.boot ? { boot: input.boot as 'disk' | 'cdrom' } : {}),
    autostart: input.autostart === true,
  };
}

/** The VM's disk that is `POOL/VOLUME`, if it has one. */
export function diskOf(vm: VmDefinition | undefined, pool: string, volume: string): VmDisk | undefined {
  return vm?.disks.find((d) => d.pool === pool && d.volume === volume);
}
