import { randomUUID } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KvmpoolError, errors } from '../../model/errors.js';
import { parsePortRef, parseVolumeRef, validateName } from '../../model/names.js';
import { parseSize } from '../../model/sizes.js';
import { DISK_BUSES, type DiskBus, type VmDefinition, type VmDisk, type VmInfo, type VmNic } from '../../model/vm-types.js';
import type { VmRecord, VmRuntime } from '../../state/store.js';
import { detectAccelerator, type AcceleratorChoice } from '../../host/accel-probe.js';
import { QEMU, diskNode, type QemuSpec } from '../../host/qemu-system.js';
import type { ServiceContext } from '../context.js';
import type { VolumeService } from '../storage/volumes.js';
import type { PortService } from '../network/ports.js';
import { resolveDisk, resolveNic } from './vm-devices.js';
import { VmProcess, type VmExit } from './vm-process.js';
import { readLog, trimLog } from './console-log.js';

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

const MiB = 1024 * 1024;
const MIN_MEMORY = 16 * MiB;
const MAX_CPUS = 255;
/** How long `stop` waits for the guest to power down before it kills qemu. */
export const DEFAULT_STOP_TIMEOUT_S = 60;

/** A console log over this size is cut to its last quarter. */
export const DEFAULT_CONSOLE_BYTES = 16 * MiB;
const TRIM_INTERVAL_MS = 1000;

export const vmLock = (vm: string) => `vm:${vm}`;

/** Virtual machines: qemu processes whose disks are volumes and whose NICs are ports. */
export class VmService {
  private readonly running = new Map<string, VmProcess>();
  /** VMs between their checks and their qemu running: their disks count as in use already. */
  private readonly starting = new Set<string>();
  private accelerator?: Promise<AcceleratorChoice>;

  private trimmer?: NodeJS.Timeout;

  constructor(
    readonly ctx: ServiceContext,
    private readonly dir: string,
    private readonly volumes: VolumeService,
    private readonly ports: PortService,
    private readonly limits: { consoleBytes: number } = { consoleBytes: DEFAULT_CONSOLE_BYTES },
  ) {}

  async define(input: DefineVmInput): Promise<VmInfo> {
    const name = validateName('vm', input.name);
    const def = parseDefinition(input);
    await this.ctx.locks.with('vms', 'define', async () => {
      if (this.ctx.store.getVm(name)) throw errors.exists('VM', name);
      for (const d of def.disks) {
        this.checkSharing(name, d);
        await this.volumes.info(d.pool, d.volume);
      }
      for (const n of def.nics) await resolveNic(this.ports, n, name);
      for (const f of [def.kernel, def.initrd]) if (f) await checkFile(f);
      const claimed: VmNic[] = [];
      try {
        for (const n of def.nics) {
          await this.ports.setUsedBy(n.network, n.port, name);
          claimed.push(n);
        }
        this.ctx.store.putVm({ ...def, name, runtime: { state: 'stopped' }, created: new Date().toISOString() });
      } catch (e) {
        for (const n of claimed) await this.ports.setUsedBy(n.network, n.port, null).catch(() => {});
        throw e;
      }
    });
    this.ctx.events.emit('vm.defined', name);
    this.ctx.log(`vm ${name}: defined`);
    return this.info(name);
  }

  async list(): Promise<VmInfo[]> {
    return this.ctx.store.listVms().map((r) => this.describe(r));
  }

  async info(name: string): Promise<VmInfo> {
    return this.describe(this.record(name));
  }

  /** Starts qemu with the VM's volumes and ports; a qemu that exits at once fails with its own words. */
  async start(name: string): Promise<VmInfo> {
    await this.ctx.locks.with(vmLock(name), 'start', async () => {
      const rec = this.record(name);
      if (this.running.has(name)) return;
      await this.refuseUnreachable(rec);
      this.starting.add(name);
      try {
        await this.launch(rec);
      } finally {
        this.starting.delete(name);
      }
    });
    this.ctx.events.emit('vm.started', name);
    return this.info(name);
  }

  private async launch(rec: VmRecord): Promise<void> {
    const name = rec.name;
    const disks = [];
    for (const d of rec.disks) {
      this.checkSharing(name, d);
      disks.push((await resolveDisk(this.volumes, d)).qemu);
    }
    if (rec.boot === 'cdrom') {
      const cd = disks.find((d) => d.readonly);
      if (!cd) throw errors.invalid(`vm ${name} boots from a CD-ROM but has no read-only disk to be one`);
      Object.assign(cd, { cdrom: true, bootIndex: 1 });
    } else if (disks[0] && !rec.kernel) disks[0].bootIndex = 1;
    const nics = [];
    for (const n of rec.nics) nics.push((await resolveNic(this.ports, n, name)).qemu);
    const accel = await this.detect();
    const dir = this.vmDir(rec);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const spec: QemuSpec = {
      name,
      uuid: rec.uuid,
      cpus: rec.cpus,
      memoryMiB: rec.memory / MiB,
      accelerator: accel.accelerator,
      disks,
      nics,
      qmpSocket: path.join(dir, 'qmp.sock'),
      consoleLog: path.join(dir, 'console.log'),
      ...(rec.kernel ? { kernel: rec.kernel } : {}),
      ...(rec.initrd ? { initrd: rec.initrd } : {}),
      ...(rec.append !== undefined ? { append: rec.append } : {}),
    };
    await rm(spec.qmpSocket, { force: true });
    await rm(spec.consoleLog, { force: true });
    const runtime = (pid: number): VmRuntime => ({ state: 'running', pid, bootId: this.ctx.bootId, accelerator: accel.accelerator, started: new Date().toISOString() });
    try {
      const proc = await VmProcess.launch(spec, path.join(dir, 'qemu.log'), (pid) => this.setRuntime(name, runtime(pid)));
      this.track(name, proc);
      this.ctx.log(`vm ${name}: started (pid ${proc.pid}, ${accel.accelerator}: ${accel.reason})`);
    } catch (e) {
      this.setRuntime(name, { state: 'stopped', reason: e instanceof Error ? e.message : String(e) });
      throw e;
    }
  }

  /** A qemu of this VM that runs untracked (its monitor did not answer at daemon start) must not get a twin. */
  private async refuseUnreachable(rec: VmRecord): Promise<void> {
    const { pid, state } = rec.runtime;
    if (state !== 'running' || !pid || rec.runtime.bootId !== this.ctx.bootId) return;
    const proc = await VmProcess.attach(pid, rec.uuid, path.join(this.vmDir(rec), 'qmp.sock'), path.join(this.vmDir(rec), 'qemu.log'));
    if (proc) {
      this.track(rec.name, proc);
      throw errors.inUse(`vm ${rec.name} is running already (pid ${pid})`, { vm: rec.name, pid });
    }
  }

  /** Asks the guest to power down (ACPI); kills qemu after `timeoutS` seconds. */
  async stop(name: string, timeoutS = DEFAULT_STOP_TIMEOUT_S): Promise<VmInfo> {
    await this.ctx.locks.with(vmLock(this.record(name).name), 'stop', async () => {
      const proc = this.running.get(name);
      if (proc) await proc.powerdown(timeoutS * 1000);
      await this.settled(name);
    });
    return this.info(name);
  }

  /** Ends qemu at once. */
  async kill(name: string): Promise<VmInfo> {
    await this.ctx.locks.with(vmLock(this.record(name).name), 'kill', async () => {
      const proc = this.running.get(name);
      if (proc) await proc.kill();
      await this.settled(name);
    });
    return this.info(name);
  }

  /** Forgets a stopped VM; its ports are free again (its volumes were never taken). */
  async undefine(name: string): Promise<void> {
    await this.ctx.locks.with(vmLock(name), 'undefine', async () => {
      const rec = this.record(name);
      if (this.running.has(name)) throw errors.inUse(`vm ${name} is running: stop it first`, { vm: name });
      for (const n of rec.nics) await this.ports.setUsedBy(n.network, n.port, null).catch(() => {});
      this.ctx.store.deleteVm(name);
      await rm(this.vmDir(rec), { recursive: true, force: true });
    });
    this.ctx.events.emit('vm.undefined', name);
    this.ctx.log(`vm ${name}: undefined`);
  }

  /** The guest's serial console output from byte `offset` on (at most 1 MiB at a time). */
  async console(name: string, offset = 0): Promise<{ data: string; offset: number }> {
    return readLog(path.join(this.vmDir(this.record(name)), 'console.log'), offset);
  }

  /** Keeps the logs of running VMs (the guest's console, qemu's own output) under the limit (a timer calls it). */
  async trimLogs(): Promise<void> {
    for (const name of this.running.keys()) {
      const rec = this.ctx.store.getVm(name);
      if (!rec) continue;
      for (const [file, what] of [['console.log', 'console log'], ['qemu.log', 'qemu log']] as const) {
        if (await trimLog(path.join(this.vmDir(rec), file), this.limits.consoleBytes, this.limits.consoleBytes / 4).catch(() => false)) {
          this.ctx.log(`vm ${name}: ${what} cut to its last ${this.limits.consoleBytes / 4} bytes`);
        }
      }
    }
  }

  /** Grows a running VM's disk through QMP: the guest sees the new size at once. */
  async resizeLive(vm: string, pool: string, volume: string, bytes: number): Promise<void> {
    const proc = this.running.get(vm);
    if (!proc) throw errors.notFound('running VM', vm);
    await proc.execute('block_resize', { 'node-name': diskNode(`${pool}/${volume}`), size: bytes });
    this.ctx.log(`vm ${vm}: disk ${pool}/${volume} grown to ${bytes} bytes`);
  }

  /** Takes (or deletes) a qcow2 internal snapshot of a running VM's disk through its qemu. */
  async snapshotLive(vm: string, pool: string, volume: string, snapshot: string, remove: boolean): Promise<void> {
    const proc = this.running.get(vm);
    if (!proc) throw errors.notFound('running VM', vm);
    if (this.readonlyDisk(vm, pool, volume)) {
      throw errors.inUse(`${pool}/${volume} is a read-only disk of running vm ${vm}: no snapshot while it runs`, { vm });
    }
    const device = diskNode(`${pool}/${volume}`);
    if (remove) await proc.execute('blockdev-snapshot-delete-internal-sync', { device, name: snapshot });
    else await proc.execute('blockdev-snapshot-internal-sync', { device, name: snapshot });
  }

  /** The running VM that has `POOL/VOLUME` as a disk, if any. */
  runningVmOf(pool: string, volume: string): string | undefined {
    return [...this.running.keys(), ...this.starting].find((name) => diskOf(this.ctx.store.getVm(name), pool, volume));
  }

  readonlyDisk(vm: string, pool: string, volume: string): boolean {
    return diskOf(this.ctx.store.getVm(vm), pool, volume)?.readonly === true;
  }

  /** A VM whose definition has `POOL/VOLUME` as a disk, if any. */
  definedVmOf(pool: string, volume: string): string | undefined {
    return this.ctx.store.listVms().find((v) => diskOf(v, pool, volume))?.name;
  }

  /** The qemu of a running VM (for hot-plug and QMP work on its disks). */
  process(name: string): VmProcess | undefined {
    return this.running.get(name);
  }

  /**
   * At daemon start: VMs whose qemu still runs (same boot, same process, the VM's uuid on its command
   * line) are found again; the others are marked stopped with the reason; autostart VMs start.
   */
  async startup(): Promise<void> {
    this.trimmer = setInterval(() => void this.trimLogs(), TRIM_INTERVAL_MS);
    this.trimmer.unref();
    for (const rec of this.ctx.store.listVms()) {
      try {
        await this.findAgain(rec);
        if (rec.autostart && !this.running.has(rec.name)) await this.start(rec.name);
      } catch (e) {
        this.ctx.log(`vm ${rec.name}: ${e instanceof Error ? e.message : String(e)}`);
        this.ctx.events.emit('vm.error', rec.name, { message: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  private async findAgain(rec: VmRecord): Promise<void> {
    const rt = rec.runtime;
    if (rt.state !== 'running' && rt.state !== 'paused') return;
    const dir = this.vmDir(rec);
    if (rt.pid && rt.bootId === this.ctx.bootId) {
      try {
        const proc = await VmProcess.attach(rt.pid, rec.uuid, path.join(dir, 'qmp.sock'), path.join(dir, 'qemu.log'));
        if (proc) {
          this.track(rec.name, proc);
          this.ctx.log(`vm ${rec.name}: found running (pid ${proc.pid})`);
          return;
        }
      } catch (e) {
        // It runs, but cannot be managed now: it stays marked running (a start is refused), with why.
        this.setRuntime(rec.name, { ...rt, reason: e instanceof Error ? e.message : String(e) });
        throw e;
      }
    }
    if (rt.bootId === this.ctx.bootId) this.setRuntime(rec.name, { state: 'crashed', reason: 'qemu ended while the daemon was down' });
    else this.setRuntime(rec.name, { state: 'stopped', reason: 'the host restarted' });
  }

  /** Lets go of the qemu processes (they keep running): the daemon is stopping. */
  close(): void {
    clearInterval(this.trimmer);
    for (const proc of this.running.values()) proc.detach();
    this.running.clear();
  }

  /** The stored record of a VM; NOT_FOUND otherwise. */
  record(name: string): VmRecord {
    const rec = this.ctx.store.getVm(validateName('vm', name));
    if (!rec) throw errors.notFound('VM', name);
    return rec;
  }

  private track(name: string, proc: VmProcess): void {
    this.running.set(name, proc);
    void proc.exited.then((exit) => this.ended(name, proc, exit));
  }

  private ended(name: string, proc: VmProcess, exit: VmExit): void {
    if (this.running.get(name) !== proc) return;
    this.running.delete(name);
    const state = exit.requested || exit.guestShutdown ? 'stopped' : 'crashed';
    this.setRuntime(name, { state, reason: exit.reason });
    this.ctx.events.emit(state === 'crashed' ? 'vm.crashed' : 'vm.stopped', name, { reason: exit.reason });
    this.ctx.log(`vm ${name}: ${state} (${exit.reason})`);
  }

  /** Waits until the record shows the VM no longer running (its exit handler ran). */
  private async settled(name: string): Promise<void> {
    while (this.running.has(name)) await new Promise((r) => setTimeout(r, 20));
  }

  private setRuntime(name: string, runtime: VmRuntime): void {
    const rec = this.ctx.store.getVm(name);
    if (rec) this.ctx.store.putVm({ ...rec, runtime });
  }

  private describe(rec: VmRecord): VmInfo {
    const { runtime, created: _c, ...def } = rec;
    const proc = this.running.get(rec.name);
    return {
      ...def,
      // Not tracked but marked running: its qemu runs, but its monitor did not answer (see reason).
      state: proc ? proc.state : runtime.state === 'crashed' ? 'crashed' : runtime.state === 'running' && !this.starting.has(rec.name) ? 'running' : 'stopped',
      ...(runtime.reason && !proc ? { reason: runtime.reason } : {}),
      ...(!proc && runtime.state === 'running' && runtime.pid ? { pid: runtime.pid } : {}),
      ...(proc && runtime.accelerator ? { accelerator: runtime.accelerator } : {}),
      ...(proc ? { pid: proc.pid } : {}),
      ...(proc && runtime.started ? { started: runtime.started } : {}),
    };
  }

  /** A writable disk belongs to one VM only (read-only ones may be shared). */
  checkSharing(vm: string, d: VmDisk): void {
    for (const other of this.ctx.store.listVms()) {
      if (other.name === vm) continue;
      const theirs = diskOf(other, d.pool, d.volume);
      if (theirs && (!theirs.readonly || !d.readonly)) {
        throw errors.inUse(`${d.pool}/${d.volume} is a disk of vm ${other.name}${theirs.readonly && d.readonly ? '' : ' (writable)'}`, { volume: `${d.pool}/${d.volume}`, vm: other.name });
      }
    }
  }

  private detect(): Promise<AcceleratorChoice> {
    this.accelerator ??= detectAccelerator(QEMU);
    return this.accelerator;
  }

  private vmDir(rec: VmRecord): string {
    return path.join(this.dir, rec.uuid);
  }
}

/** A disk as given: `POOL/VOLUME`, a known bus (virtio by default), read-only or not. */
export function parseDisk(d: DiskInput): VmDisk {
  const { pool, volume } = parseVolumeRef(`${d.pool}/${d.volume}`);
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
function diskOf(vm: VmDefinition | undefined, pool: string, volume: string): VmDisk | undefined {
  return vm?.disks.find((d) => d.pool === pool && d.volume === volume);
}

async function checkFile(file: string): Promise<void> {
  const st = await stat(file).catch(() => undefined);
  if (!st?.isFile()) throw new KvmpoolError('NOT_FOUND', `file '${file}' not found`, { file });
}

