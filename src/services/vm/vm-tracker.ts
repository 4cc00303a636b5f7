import type { ServiceContext } from '../context.js';
import type { VmRuntime } from '../../state/store.js';
import type { VmExit, VmProcess } from './vm-process.js';

/**
 * The qemu processes this daemon tracks, by VM name, and the VMs between their checks and their qemu
 * running (their disks count as in use already). When a tracked qemu ends, its record says how, and
 * whoever waits for it to be gone is told: no polling.
 */
export class VmTracker {
  private readonly running = new Map<string, { proc: VmProcess; gone: Promise<void> }>();
  private readonly starting = new Set<string>();

  constructor(private readonly ctx: ServiceContext) {}

  get(name: string): VmProcess | undefined {
    return this.running.get(name)?.proc;
  }

  has(name: string): boolean {
    return this.running.has(name);
  }

  /** VMs whose qemu runs or is starting. */
  active(): string[] {
    return [...this.running.keys(), ...this.starting];
  }

  isStarting(name: string): boolean {
    return this.starting.has(name);
  }

  /** Marks a VM as starting while `work` runs. */
  async whileStarting<T>(name: string, work: () => Promise<T>): Promise<T> {
    this.starting.add(name);
    try {
      return await work();
    } finally {
      this.starting.delete(name);
    }
  }

  /**
   * Tracks a qemu until it ends; then the VM's record says whether it stopped or crashed, and why, and
   * `after` runs (it has ended for `settled` only once `after` has run).
   */
  track(name: string, proc: VmProcess, after: () => Promise<void> = async () => {}): void {
    const gone = proc.exited.then(async (exit) => {
      // A qemu let go of (the daemon is stopping) is another daemon's business.
      if (this.ended(name, proc, exit)) await after();
    });
    this.running.set(name, { proc, gone });
    this.leaving.set(name, gone);
    void gone.finally(() => {
      if (this.leaving.get(name) === gone) this.leaving.delete(name);
    });
  }

  /** Until each tracked qemu has ended and its `after` has run (a VM no longer running may still be here). */
  private readonly leaving = new Map<string, Promise<void>>();

  /** Resolves once the VM's tracked qemu (if any) is gone, its record says so, and its `after` has run. */
  async settled(name: string): Promise<void> {
    await this.leaving.get(name);
  }

  /** Lets go of every qemu (they keep running): the daemon is stopping. */
  detachAll(): void {
    for (const { proc } of this.running.values()) proc.detach();
    this.running.clear();
  }

  /** Sets a VM's runtime record (if it is still defined). */
  setRuntime(name: string, runtime: VmRuntime): void {
    const rec = this.ctx.store.vms.get(name);
    if (rec) this.ctx.store.vms.put({ ...rec, runtime });
  }

  /** Records how the tracked qemu ended; false when it was no longer tracked. */
  private ended(name: string, proc: VmProcess, exit: VmExit): boolean {
    if (this.running.get(name)?.proc !== proc) return false;
    this.running.delete(name);
    const state = exit.requested || exit.guestShutdown ? 'stopped' : 'crashed';
    this.setRuntime(name, { state, reason: exit.reason });
    this.ctx.events.emit(state === 'crashed' ? 'vm.crashed' : 'vm.stopped', name, { reason: exit.reason });
    this.ctx.log(`vm ${name}: ${state} (${exit.reason})`);
    return true;
  }
}
