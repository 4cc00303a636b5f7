import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { KvmpoolError, errors } from '../../model/errors.js';
import { validateName, volumeRef } from '../../model/names.js';
import { Reverter } from '../../model/reverter.js';
import type { VmDisk, VmInfo } from '../../model/vm-types.js';
import type { VmRecord, VmRuntime } from '../../state/store.js';
import { detectAccelerator, type AcceleratorChoice } from '../../host/accel-probe.js';
import { QEMU, type QemuSpec } from '../../host/qemu-system.js';
import type { ServiceContext } from '../context.js';
import { announce, operate } from '../operation.js';
import type { VolumeService } from '../storage/volumes.js';
import type { PortService } from '../network/ports.js';
import { resolveDisk, resolveNic } from './vm-devices.js';
import { diskOf, MiB, parseDefinition, type DefineVmInput } from './vm-definition.js';
import { VmProcess } from './vm-process.js';
import type { VmTracker } from './vm-tracker.js';
import { readLog, trimLog } from './console-log.js';
import { absent, fallback } from '../../model/ignore.js';

export type { DefineVmInput };

/** How long `stop` waits for the guest to power down before it kills qemu. */
export const DEFAULT_STOP_TIMEOUT_S = 60;
/** A console log over this size is cut to its last quarter. */
export const DEFAULT_CONSOLE_BYTES = 16 * MiB;
const TRIM_INTERVAL_MS = 1000;

export const vmLock = (vm: string) => `vm:${vm}`;

/** Virtual machines: define, start, stop, kill, undefine; their consoles; finding their qemu again after a restart. */
export class VmService {
  private accelerator?: Promise<AcceleratorChoice>;
  private trimmer?: NodeJS.Timeout;

  constructor(
    readonly ctx: ServiceContext,
    private readonly dir: string,
    private readonly volumes: VolumeService,
    private readonly ports: PortService,
    readonly tracker: VmTracker,
    private readonly limits: { consoleBytes: number } = { consoleBytes: DEFAULT_CONSOLE_BYTES },
  ) {}

  async define(input: DefineVmInput): Promise<VmInfo> {
    const name = validateName('vm', input.name);
    const def = parseDefinition(input);
    await operate(this.ctx, 'vm.define', ['vms'], async () => {
      if (this.ctx.store.vms.get(name)) throw errors.exists('VM', name);
      for (const d of def.disks) {
        this.checkSharing(name, d);
        await this.volumes.info(volumeRef(d.pool, d.volume));
      }
      for (const n of def.nics) await resolveNic(this.ports, n, name);
      for (const f of [def.kernel, def.initrd]) if (f) await checkFile(f);
      await Reverter.run(this.ctx.log, async (r) => {
        for (const n of def.nics) {
          await this.ports.setUsedBy(n.network, n.port, name);
          r.add(`give port ${n.network}/${n.port} back`, () => this.ports.setUsedBy(n.network, n.port, null));
        }
        this.ctx.store.vms.put({ ...def, name, runtime: { state: 'stopped' }, created: new Date().toISOString() });
      });
    });
    announce(this.ctx, 'vm.defined', name, `vm ${name}: defined`);
    return this.info(name);
  }

  async list(): Promise<VmInfo[]> {
    return this.ctx.store.vms.list().map((r) => this.describe(r));
  }

  async info(name: string): Promise<VmInfo> {
    return this.describe(this.record(name));
  }

  /** Starts qemu with the VM's volumes and ports; a qemu that exits at once fails with its own words. */
  async start(name: string): Promise<VmInfo> {
    await operate(this.ctx, 'vm.start', [vmLock(name)], async () => {
      const rec = this.record(name);
      if (this.tracker.has(name)) return;
      await this.refuseUnreachable(rec);
      await this.tracker.whileStarting(name, () => this.launch(rec));
    });
    this.ctx.events.emit('vm.started', name);
    return this.info(name);
  }

  private async launch(rec: VmRecord): Promise<void> {
    const name = rec.name;
    // The disks made usable here so far: given up again unless qemu runs with them.
    const used: VmDisk[] = [];
    try {
      const disks = [];
      for (const d of rec.disks) {
        this.checkSharing(name, d);
        disks.push((await resolveDisk(this.volumes, d)).qemu);
        used.push(d);
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
        qmpSocket: qmpSocketOf(dir),
        consoleLog: path.join(dir, 'console.log'),
        ...(rec.kernel ? { kernel: rec.kernel } : {}),
        ...(rec.initrd ? { initrd: rec.initrd } : {}),
        ...(rec.append !== undefined ? { append: rec.append } : {}),
      };
      await mkdir(path.dirname(spec.qmpSocket), { recursive: true, mode: 0o700 });
      await rm(spec.qmpSocket, { force: true });
      await rm(spec.consoleLog, { force: true });
      const runtime = (pid: number): VmRuntime => ({ state: 'running', pid, bootId: this.ctx.bootId, accelerator: accel.accelerator, started: new Date().toISOString() });
      const proc = await VmProcess.launch(spec, path.join(dir, 'qemu.log'), (pid) => this.tracker.setRuntime(name, runtime(pid)));
      this.track(name, proc);
      this.ctx.log(`vm ${name}: started (pid ${proc.pid}, ${accel.accelerator}: ${accel.reason})`);
    } catch (e) {
      this.tracker.setRuntime(name, { state: 'stopped', reason: e instanceof Error ? e.message : String(e) });
      await this.closeDisks(used);
      throw e;
    }
  }

  /** A qemu of this VM that runs untracked (its monitor did not answer at daemon start) must not get a twin. */
  private async refuseUnreachable(rec: VmRecord): Promise<void> {
    const { pid, state } = rec.runtime;
    if (state !== 'running' || !pid || rec.runtime.bootId !== this.ctx.bootId) return;
    const proc = await VmProcess.attach(pid, rec.uuid, qmpSocketOf(this.vmDir(rec)), path.join(this.vmDir(rec), 'qemu.log'));
    if (proc) {
      await this.trackFound(rec, proc);
      throw errors.inUse(`vm ${rec.name} is running already (pid ${pid})`, { vm: rec.name, pid });
    }
  }

  /** Asks the guest to power down (ACPI); kills qemu after `timeoutS` seconds. */
  async stop(name: string, timeoutS = DEFAULT_STOP_TIMEOUT_S): Promise<VmInfo> {
    await operate(this.ctx, 'vm.stop', [vmLock(this.record(name).name)], async () => {
      await this.tracker.get(name)?.powerdown(timeoutS * 1000);
      await this.tracker.settled(name);
    });
    return this.info(name);
  }

  /** Ends qemu at once. */
  async kill(name: string): Promise<VmInfo> {
    await operate(this.ctx, 'vm.kill', [vmLock(this.record(name).name)], async () => {
      await this.tracker.get(name)?.kill();
      await this.tracker.settled(name);
    });
    return this.info(name);
  }

  /** Forgets a stopped VM; its ports are free again (its volumes were never taken). */
  async undefine(name: string): Promise<void> {
    await operate(this.ctx, 'vm.undefine', [vmLock(name)], async () => {
      const rec = this.record(name);
      if (this.tracker.has(name)) throw errors.inUse(`vm ${name} is running: stop it first`, { vm: name });
      for (const n of rec.nics) {
        await this.ports.setUsedBy(n.network, n.port, null).catch((e: unknown) => this.ctx.log(`vm ${name}: port ${n.network}/${n.port}: ${e instanceof Error ? e.message : String(e)}`));
      }
      this.ctx.store.vms.delete(name);
      await rm(qmpSocketOf(this.vmDir(rec)), { force: true });
      await rm(this.vmDir(rec), { recursive: true, force: true });
    });
    announce(this.ctx, 'vm.undefined', name, `vm ${name}: undefined`);
  }

  /** The guest's serial console output from byte `offset` on (at most 1 MiB at a time). */
  async console(name: string, offset = 0): Promise<{ data: string; offset: number }> {
    return readLog(path.join(this.vmDir(this.record(name)), 'console.log'), offset);
  }

  /** Keeps the logs of running VMs (the guest's console, qemu's own output) under the limit (a timer calls it). */
  async trimLogs(): Promise<void> {
    for (const name of this.tracker.active()) {
      const rec = this.ctx.store.vms.get(name);
      if (!rec) continue;
      for (const [file, what] of [['console.log', 'console log'], ['qemu.log', 'qemu log']] as const) {
        if (await trimLog(path.join(this.vmDir(rec), file), this.limits.consoleBytes, this.limits.consoleBytes / 4).catch(fallback(false))) {
          this.ctx.log(`vm ${name}: ${what} cut to its last ${this.limits.consoleBytes / 4} bytes`);
        }
      }
    }
  }

  /**
   * At daemon start: VMs whose qemu still runs (same boot, same process, the VM's uuid on its command
   * line) are found again; the others are marked stopped with the reason; autostart VMs start.
   */
  async startup(): Promise<void> {
    this.trimmer = setInterval(() => void this.trimLogs(), TRIM_INTERVAL_MS);
    this.trimmer.unref();
    for (const rec of this.ctx.store.vms.list()) {
      try {
        await this.findAgain(rec);
        if (rec.autostart && !this.tracker.has(rec.name)) await this.start(rec.name);
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
        const proc = await VmProcess.attach(rt.pid, rec.uuid, qmpSocketOf(dir), path.join(dir, 'qemu.log'));
        if (proc) {
          await this.trackFound(rec, proc);
          this.ctx.log(`vm ${rec.name}: found running (pid ${proc.pid})`);
          return;
        }
      } catch (e) {
        // It runs, but cannot be managed now: it stays marked running (a start is refused), with why.
        this.tracker.setRuntime(rec.name, { ...rt, reason: e instanceof Error ? e.message : String(e) });
        throw e;
      }
    }
    if (rt.bootId === this.ctx.bootId) this.tracker.setRuntime(rec.name, { state: 'crashed', reason: 'qemu ended while the daemon was down' });
    else this.tracker.setRuntime(rec.name, { state: 'stopped', reason: 'the host restarted' });
  }

  /** Tracks the VM's qemu; once it has ended, its disks are given up (on storage several hosts share, another host may use them). */
  private track(name: string, proc: VmProcess): void {
    this.tracker.track(name, proc, () => this.closeDisks(this.ctx.store.vms.get(name)?.disks ?? []));
  }

  /** Tracks a qemu an earlier daemon started: its disks count as used here (they are, as it left them) until it ends. */
  private async trackFound(rec: VmRecord, proc: VmProcess): Promise<void> {
    this.track(rec.name, proc);
    for (const d of rec.disks) {
      await this.volumes.use(volumeRef(d.pool, d.volume)).catch((e: unknown) => this.ctx.log(`vm ${rec.name}: disk ${d.pool}/${d.volume}: ${e instanceof Error ? e.message : String(e)}`));
    }
  }

  /** Gives up volumes `resolveDisk` made usable here; failures are logged (a pool stopped meanwhile, say). */
  private async closeDisks(disks: readonly VmDisk[]): Promise<void> {
    for (const d of disks) {
      await this.volumes.close(volumeRef(d.pool, d.volume)).catch((e: unknown) => this.ctx.log(`volume ${d.pool}/${d.volume}: ${e instanceof Error ? e.message : String(e)}`));
    }
  }

  /** Lets go of the qemu processes (they keep running): the daemon is stopping. */
  close(): void {
    clearInterval(this.trimmer);
    this.tracker.detachAll();
  }

  /** The stored record of a VM; NOT_FOUND otherwise. */
  record(name: string): VmRecord {
    const rec = this.ctx.store.vms.get(validateName('vm', name));
    if (!rec) throw errors.notFound('VM', name);
    return rec;
  }

  private describe(rec: VmRecord): VmInfo {
    const { runtime, created: _c, ...def } = rec;
    const proc = this.tracker.get(rec.name);
    return {
      ...def,
      // Not tracked but marked running: its qemu runs, but its monitor did not answer (see reason).
      state: proc ? proc.state : runtime.state === 'crashed' ? 'crashed' : runtime.state === 'running' && !this.tracker.isStarting(rec.name) ? 'running' : 'stopped',
      ...(runtime.reason && !proc ? { reason: runtime.reason } : {}),
      ...(!proc && runtime.state === 'running' && runtime.pid ? { pid: runtime.pid } : {}),
      ...(proc && runtime.accelerator ? { accelerator: runtime.accelerator } : {}),
      ...(proc ? { pid: proc.pid } : {}),
      ...(proc && runtime.started ? { started: runtime.started } : {}),
    };
  }

  /** A writable disk belongs to one VM only (read-only ones may be shared). */
  checkSharing(vm: string, d: VmDisk): void {
    for (const other of this.ctx.store.vms.list()) {
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

/** Where sockets go whose path in the VM's directory is too long for a unix socket (108 bytes). */
const SHORT_SOCKETS = '/run/kvmpool';

/**
 * The QMP socket of the VM whose directory is `dir` (named by its uuid): in it, or under /run by the
 * uuid when a deep home makes that path too long (however the home is spelled, the same VM's).
 */
function qmpSocketOf(dir: string): string {
  const inDir = path.join(dir, 'qmp.sock');
  if (Buffer.byteLength(inDir) < 108) return inDir;
  return path.join(SHORT_SOCKETS, `qmp-${path.basename(dir)}.sock`);
}

async function checkFile(file: string): Promise<void> {
  const st = await stat(file).catch(absent);
  if (!st?.isFile()) throw new KvmpoolError('NOT_FOUND', `file '${file}' not found`, { file });
}
