import { existsSync } from 'node:fs';
import { KvmpoolError } from '../../model/errors.js';
import { qemuArgs, type QemuSpec } from '../../host/qemu-system.js';
import { isAlive, isQemuOf, killProcess, qemuLogTail as tail, spawnQemu, type QemuExit } from '../../host/qemu-process.js';
import { QmpClient, type QmpEvent } from '../../host/qmp.js';
import { absent, fallback, observedElsewhere } from '../../model/ignore.js';

/** How a qemu ended: whether kvmpool asked for it, and why. */
export interface VmExit {
  requested: boolean;
  /** The guest powered off (a clean end that nobody asked kvmpool for). */
  guestShutdown: boolean;
  reason: string;
}

/** How long qemu gets to open its QMP socket. */
const QMP_WAIT_MS = 15_000;
const POLL_MS = 250;

/**
 * One running qemu: its process id and QMP connection. It runs in a session of its own, so it outlives
 * the daemon; a new daemon finds it again with `attach`. `exited` resolves once it is gone.
 */
export class VmProcess {
  state: 'running' | 'paused' = 'running';
  readonly exited: Promise<VmExit>;
  private requested = false;
  private readonly waiters = new Set<(e: QmpEvent) => void>();
  private shutdown?: { guest: boolean; reason: string };
  private settle!: (e: VmExit) => void;

  private constructor(
    readonly pid: number,
    private readonly uuid: string,
    private readonly qmp: QmpClient,
    private readonly log: string,
    childExit?: Promise<QemuExit>,
  ) {
    this.exited = new Promise((resolve) => (this.settle = resolve));
    qmp.onEvent = (e) => this.event(e);
    // Whoever waits for an event of this qemu stops waiting when it is gone.
    void this.exited.then(() => {
      for (const w of [...this.waiters]) w({ event: 'EXITED' });
    });
    void this.watch(childExit);
  }

  /**
   * Starts qemu (paused), connects to its QMP socket, then lets it run. `spawned` learns the process id at
   * once (so a daemon that dies meanwhile leaves a qemu the next one can find). Any failure kills qemu
   * and reports what it said.
   */
  static async launch(spec: QemuSpec, logFile: string, spawned: (pid: number) => void): Promise<VmProcess> {
    const { pid, exited: childExit } = await spawnQemu(qemuArgs(spec), logFile);
    let ended = false;
    void childExit.then(() => (ended = true));
    if (pid === undefined) throw await startFailure(logFile, await childExit);
    spawned(pid);
    let qmp: QmpClient | undefined;
    try {
      const deadline = Date.now() + QMP_WAIT_MS;
      while (!qmp) {
        if (ended) throw await startFailure(logFile, await childExit);
        if (Date.now() > deadline) throw new KvmpoolError('HOST_COMMAND_TIMEOUT', `qemu did not open its monitor in ${QMP_WAIT_MS / 1000} s`, { log: await tail(logFile) });
        if (existsSync(spec.qmpSocket)) qmp = await QmpClient.connect(spec.qmpSocket).catch(absent);
        if (!qmp) await sleep(50);
      }
      const vm = new VmProcess(pid, spec.uuid, qmp, logFile, childExit);
      await qmp.execute('cont');
      return vm;
    } catch (e) {
      qmp?.close();
      if (!ended) killProcess(pid);
      const exit = await childExit;
      throw e instanceof KvmpoolError && e.code === 'HOST_COMMAND_FAILED' ? e : await startFailure(logFile, exit, e);
    }
  }

  /**
   * Finds a qemu that a previous daemon started: its process must be alive and carry the VM's uuid.
   * Returns undefined when there is none; throws UNAVAILABLE when it runs but its monitor does not answer.
   */
  static async attach(pid: number, uuid: string, qmpSocket: string, logFile: string): Promise<VmProcess | undefined> {
    if (!(await isQemuOf(pid, uuid))) return undefined;
    const qmp = await QmpClient.connect(qmpSocket).catch((e: Error) => {
      throw new KvmpoolError('UNAVAILABLE', `qemu (pid ${pid}) runs but its monitor does not answer: ${e.message}`, { pid });
    });
    const vm = new VmProcess(pid, uuid, qmp, logFile);
    const status = await qmp.execute<{ running: boolean }>('query-status').catch(fallback({ running: true }));
    vm.state = status.running ? 'running' : 'paused';
    return vm;
  }

  /** QMP: runs a command in this qemu. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    return this.qmp.execute<T>(command, args);
  }

  /** Asks the guest to power down (ACPI); after `timeoutMs`, kills it. Resolves when qemu is gone. */
  async powerdown(timeoutMs: number): Promise<VmExit> {
    this.requested = true;
    const timer = setTimeout(() => void this.kill(), timeoutMs);
    await this.qmp.execute('system_powerdown', undefined, timeoutMs).catch(observedElsewhere);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends qemu at once (SIGKILL). */
  async kill(): Promise<VmExit> {
    this.requested = true;
    // The pid may be another process's by now if this qemu is gone (and not our child): look first.
    if (await isQemuOf(this.pid, this.uuid)) killProcess(this.pid);
    return this.exited;
  }

  /** Lets go of the QMP connection; qemu runs on (the daemon is stopping). */
  detach(): void {
    this.qmp.onEvent = () => {};
    this.qmp.close();
  }

  /** Resolves with the first event that `match` accepts; HOST_COMMAND_TIMEOUT after `timeoutMs`. */
  waitEvent(match: (e: QmpEvent) => boolean, what: string, timeoutMs: number): { done: Promise<QmpEvent>; cancel: () => void } {
    let waiter!: (e: QmpEvent) => void;
    let timer!: NodeJS.Timeout;
    const done = new Promise<QmpEvent>((resolve, reject) => {
      waiter = (e) => {
        if (e.event === 'EXITED') {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          reject(new KvmpoolError('UNAVAILABLE', `qemu ended while waiting for the guest to ${what}`, { what }));
          return;
        }
        if (!match(e)) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(e);
      };
      timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new KvmpoolError('HOST_COMMAND_TIMEOUT', `the guest did not ${what} in ${timeoutMs / 1000} s`, { what }));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
    return { done, cancel: () => (clearTimeout(timer), this.waiters.delete(waiter)) };
  }

  private event(e: QmpEvent): void {
    for (const w of [...this.waiters]) w(e);
    if (e.event === 'STOP') this.state = 'paused';
    if (e.event === 'RESUME') this.state = 'running';
    if (e.event === 'SHUTDOWN') this.shutdown = { guest: e.data?.['guest'] === true, reason: String(e.data?.['reason'] ?? '') };
  }

  private async watch(childExit?: Promise<QemuExit>): Promise<void> {
    let how: string;
    if (childExit) {
      const { code, signal } = await childExit;
      how = signal ? `killed by ${signal}` : `exit status ${code}`;
    } else {
      // Not our child: its monitor closing says it is ending; then it is gone within moments.
      await this.qmp.closed;
      while (await isAlive(this.pid)) await sleep(POLL_MS);
      how = 'exit status unknown: an earlier daemon started it';
    }
    const guestShutdown = this.shutdown?.guest === true && this.shutdown.reason === 'guest-shutdown';
    let reason: string;
    if (this.requested) reason = 'stopped by kvmpool';
    else if (guestShutdown) reason = 'the guest powered off';
    else if (this.shutdown) reason = `qemu shut down (${this.shutdown.reason})`;
    else reason = `qemu ended (${how}): ${(await tail(this.log)) || 'no message'}`;
    this.settle({ requested: this.requested, guestShutdown, reason });
  }
}

async function startFailure(logFile: string, exit: QemuExit, cause?: unknown): Promise<KvmpoolError> {
  const words = await tail(logFile);
  const why = words || (cause instanceof Error ? cause.message : 'no message');
  return new KvmpoolError('HOST_COMMAND_FAILED', `qemu exited at once (${exit.signal ?? `status ${exit.code}`}): ${why}`, { log: words, exitCode: exit.code });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
