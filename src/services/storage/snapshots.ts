import { errors } from '../../model/errors.js';
import { featuresFor } from '../../model/capabilities.js';
import { validateName, type VolumeRef } from '../../model/names.js';
import type { JobInfo } from '../../model/job-types.js';
import { quietContext } from '../../model/op-context.js';
import { parseSize, roundUp } from '../../model/sizes.js';
import type { SnapshotInfo, VolumeInfo } from '../../model/volume-types.js';
import { announce, operate } from '../operation.js';
import type { ActivePool } from './pool-gate.js';
import type { VolumeWork } from './volume-work.js';

/** Volume snapshots (qcow2 internal, reflink copies of raw volumes, LV snapshots): list, create, revert, delete. */
export class SnapshotService {
  private readonly ctx;

  constructor(private readonly w: VolumeWork) {
    this.ctx = w.ctx;
  }

  async list(ref: VolumeRef): Promise<SnapshotInfo[]> {
    return this.w.gate.inPool(ref.pool, async (p) => {
      const vol = await this.w.read(p, ref.volume, false);
      this.offers(p, vol);
      return p.driver.snapshots!.list(p.def, vol);
    });
  }

  /** Takes a snapshot; a running VM's qcow2 disk snapshots through its qemu. */
  async create(ref: VolumeRef, name: string, options: { size?: number | string } = {}): Promise<SnapshotInfo> {
    validateName('volume', name);
    const size = options.size !== undefined ? roundUp(parseSize(options.size)) : undefined;
    const subject = `${ref.pool}/${ref.volume}@${name}`;
    return this.withVolume(ref, 'snapshot.create', async (p, vol) => {
      this.w.rules.require(p, vol, 'snapshot', false, false);
      const vm = this.liveVm(p, vol);
      if (vm) {
        if (size !== undefined) throw errors.invalid('a snapshot size applies to copy-on-write LV snapshots (logical pools)');
        if ((await p.driver.snapshots!.list(p.def, vol)).some((s) => s.name === name)) throw errors.exists('snapshot', subject);
        await this.w.rules.vms!.snapshotLive(vm, ref.pool, ref.volume, name, false);
        await this.w.read(p, vol.name);
        const snap = (await p.driver.snapshots!.list(p.def, vol)).find((s) => s.name === name);
        if (!snap) throw errors.notFound('snapshot', subject);
        announce(this.ctx, 'snapshot.created', subject, `snapshot ${subject}: created through vm ${vm}`, { vm });
        return snap;
      }
      if (!p.driver.snapshots!.whileInUse) await this.w.rules.assertFree(p, vol);
      const snap = await p.driver.snapshots!.create(p.def, vol, name, quietContext(this.ctx.log), size !== undefined ? { size } : {});
      await this.w.read(p, vol.name);
      announce(this.ctx, 'snapshot.created', subject, `snapshot ${subject}: created`);
      return snap;
    });
  }

  /** Reverts the volume to a snapshot, as a job whose result is the volume; refused while the volume is in use. */
  async revert(ref: VolumeRef, name: string): Promise<JobInfo> {
    validateName('volume', name);
    const subject = `${ref.pool}/${ref.volume}@${name}`;
    const { job } = await this.w.volumeJob(
      ref.pool,
      ref.volume,
      'revert',
      { kind: 'snapshot.revert', target: subject },
      async (p, vol) => {
        this.w.rules.require(p, vol, 'revert', false, true);
        await this.w.rules.assertFree(p, vol);
        const snap = (await p.driver.snapshots!.list(p.def, vol)).find((s) => s.name === name);
        if (!snap) throw errors.notFound('snapshot', subject);
        if (snap.invalid) throw errors.invalid(`snapshot ${subject} ran out of room for changes and is no longer valid: delete it`, { snapshot: name });
      },
      async (p, vol, op) => {
        const facts = await this.ctx.metrics.observe('snapshot.revert', () => p.driver.snapshots!.revert(p.def, vol, name, op));
        const out = this.w.update(p, vol, facts);
        announce(this.ctx, 'snapshot.reverted', subject, `volume ${ref.pool}/${ref.volume}: reverted to ${name}`);
        return out;
      },
    );
    return job;
  }

  async delete(ref: VolumeRef, name: string): Promise<void> {
    validateName('volume', name);
    const subject = `${ref.pool}/${ref.volume}@${name}`;
    await this.withVolume(ref, 'snapshot.delete', async (p, vol) => {
      this.w.rules.require(p, vol, 'snapshot', false, false);
      const vm = this.liveVm(p, vol);
      if (vm) {
        if (!(await p.driver.snapshots!.list(p.def, vol)).some((s) => s.name === name)) throw errors.notFound('snapshot', subject);
        await this.w.rules.vms!.snapshotLive(vm, ref.pool, ref.volume, name, true);
      } else {
        if (!p.driver.snapshots!.whileInUse) await this.w.rules.assertFree(p, vol);
        await p.driver.snapshots!.delete(p.def, vol, name, quietContext(this.ctx.log));
      }
      await this.w.read(p, vol.name);
      announce(this.ctx, 'snapshot.deleted', subject, `snapshot ${subject}: deleted`);
    });
  }

  /** NOT_SUPPORTED unless the volume's format and pool keep snapshots (whatever its state). */
  private offers(p: ActivePool, vol: VolumeInfo): void {
    if (!featuresFor(p.type.capabilities, p.traits, vol.format, vol.kind).includes('snapshot') || vol.backingOutsidePool || vol.unreadable) {
      throw errors.notSupported(`cannot snapshot ${vol.pool}/${vol.name}: not supported for ${vol.format} volumes in this pool`, { feature: 'snapshot', format: vol.format });
    }
  }

  /** The running VM whose qemu holds this qcow2 volume: its internal snapshots go through that qemu. */
  private liveVm(p: ActivePool, vol: VolumeInfo): string | undefined {
    return vol.format === 'qcow2' ? this.w.rules.vms?.runningVmOf(p.rec.name, vol.name) : undefined;
  }

  private async withVolume<T>(ref: VolumeRef, operation: string, work: (p: ActivePool, vol: VolumeInfo) => Promise<T>): Promise<T> {
    return operate(this.ctx, operation, [], () =>
      this.w.gate.inPool(ref.pool, (p) =>
        this.w.locked(ref.pool, ref.volume, operation.replace('.', ' '), true, async () => {
          const vol = await this.w.read(p, ref.volume);
          this.offers(p, vol);
          return work(p, vol);
        }),
      ),
    );
  }
}
