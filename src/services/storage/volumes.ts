import { releaseMemorySoon } from '../../host/memory.js';
import type { AccessInfo } from '../../model/access.js';
import { KvmpoolError, errors } from '../../model/errors.js';
import { validateName, type VolumeRef } from '../../model/names.js';
import type { JobInfo } from '../../model/job-types.js';
import { quietContext, type OpContext } from '../../model/op-context.js';
import { parseSize, roundUp } from '../../model/sizes.js';
import { featuresFor } from '../../model/capabilities.js';
import type { VolumeFacts, VolumeInfo } from '../../model/volume-types.js';
import { announce, journaled, operate } from '../operation.js';
import { createSpec, type CreateVolumeInput } from './create-spec.js';
import { createUnderJournal } from './journaled-create.js';
import { JOURNAL_RENAME } from './journal-kinds.js';
import type { ActivePool } from './pool-gate.js';
import { reconcile } from './reconcile.js';
import { volumeLock } from './volume-records.js';
import type { VolumeWork } from './volume-work.js';

export type { CreateVolumeInput };

/** A create either finished at once or runs as a job (preallocation writes the whole volume). */
export type CreateOutcome = { volume: VolumeInfo } | { job: JobInfo };

/** Volumes of running pools: list, info, create, delete, resize, rename. */
export class VolumeService {
  private readonly ctx;

  constructor(private readonly w: VolumeWork) {
    this.ctx = w.ctx;
  }

  /**
   * The pool's volumes in name order, from the store: a pool whose storage signals its changes has
   * only the volumes it named read again; another is read whole first. With `page`, at most `limit`
   * volumes whose names sort after `after`.
   */
  async list(pool: string, page?: { limit: number; after?: string }): Promise<VolumeInfo[]> {
    return this.w.gate.inPool(pool, async (p) => {
      if (!(await this.w.watches.current(pool))) {
        const epoch = this.w.watches.epoch(pool);
        await reconcile(this.ctx, this.w.records, p);
        this.w.watches.caughtUp(pool, epoch);
      }
      const listed = page ? this.w.rules.describeAll(p, this.ctx.store.volumes.page(pool, page.limit, page.after), true) : this.w.rules.describeAll(p, this.ctx.store.volumes.list(pool));
      releaseMemorySoon(listed.length);
      return listed;
    });
  }

  async info(ref: VolumeRef): Promise<VolumeInfo> {
    return this.w.gate.inPool(ref.pool, (p) => this.w.read(p, ref.volume, false));
  }

  /** Creates a volume; preallocated ones (`falloc`, `full`) run as a job whose result is the new volume. */
  async create(pool: string, input: CreateVolumeInput): Promise<CreateOutcome> {
    const p = await this.w.gate.active(pool);
    const spec = createSpec(p.type, input);
    const writesData = spec.prealloc === 'full' || spec.prealloc === 'falloc';
    const status = writesData ? await p.driver.status(p.def, false) : undefined;
    if (status && spec.capacity > status.available) {
      throw new KvmpoolError('NO_SPACE', `pool '${pool}' has ${status.available} bytes available, ${spec.capacity} needed`, { pool, available: status.available, needed: spec.capacity });
    }
    const leave = this.w.gate.enter(pool);
    let release: () => void = () => {};
    try {
      release = this.ctx.locks.tryAcquire(volumeLock(pool, spec.name), 'create', `volume ${pool}/${spec.name}`);
      if (this.ctx.store.volumes.get(pool, spec.name)) throw errors.exists('volume', `${pool}/${spec.name}`);
    } catch (e) {
      release();
      leave();
      throw e;
    }
    const make = p.driver.volumes!;
    const work = async (op: OpContext): Promise<VolumeInfo> => {
      try {
        const record = await this.ctx.metrics.observe('volume.create', () => createUnderJournal(this.ctx, this.w.records, p, spec.name, spec.format, op, (o) => make.create(p.def, spec, o)));
        return this.w.rules.describe(p, record);
      } finally {
        release();
        leave();
      }
    };
    if (writesData) return { job: this.ctx.jobs.start('volume.create', `${pool}/${spec.name}`, work) };
    return { volume: await work(quietContext(this.ctx.log)) };
  }

  /**
   * Deletes a volume. With `defer`, a volume that others stand on (an RBD parent of layered clones)
   * leaves the listing now and its storage goes once the last of them is gone; NOT_SUPPORTED where the
   * storage cannot keep it that way.
   */
  async delete(ref: VolumeRef, force = false, defer = false): Promise<void> {
    await operate(this.ctx, 'volume.delete', [], () =>
      this.w.gate.inPool(ref.pool, (p) =>
        this.w.locked(ref.pool, ref.volume, 'delete', false, async () => {
          const vol = await this.w.read(p, ref.volume);
          const dependents = this.w.rules.backingUsers(ref.pool, vol.name);
          const deferring = defer && dependents.length > 0;
          if (dependents.length > 0 && !defer && p.driver.volumes!.defer) {
            throw errors.inUse(`${ref.pool}/${vol.name} has clones that read through to it: ${dependents.join(', ')} (delete or flatten them first, or delete it with --defer)`, { users: dependents });
          }
          if (deferring && !p.driver.volumes!.defer) throw errors.notSupported(`pools of type ${p.rec.type} cannot keep a deleted volume for the volumes that stand on it (${dependents.join(', ')})`);
          // What stands on it keeps it, out of sight: the state a deferred delete passes. Snapshots that
          // withhold a delete (they would go with the volume) are passed when forced.
          this.w.rules.require(p, vol, 'delete', force, true, [...(deferring ? (['backing'] as const) : []), ...(force ? (['snapshots'] as const) : [])]);
          await this.w.rules.assertFree(p, vol);
          const ctx = quietContext(this.ctx.log);
          if (deferring) await p.driver.volumes!.defer!(p.def, vol, ctx);
          else await p.driver.volumes!.delete(p.def, vol, ctx, { force });
          this.w.records.forget(ref.pool, vol);
          // Its clones now show it as deleted (or, if they cannot be read now, once the pool is read whole).
          if (deferring) {
            await reconcile(this.ctx, this.w.records, p, this.ctx.store.volumes.backedBy(ref.pool, vol.name)).catch((e: unknown) => {
              this.w.watches.lost(ref.pool);
              this.ctx.log(`pool ${ref.pool}: the clones of ${vol.name} were not read again: ${e instanceof Error ? e.message : String(e)}`);
            });
          }
          announce(this.ctx, 'volume.deleted', `${ref.pool}/${ref.volume}`, `volume ${ref.pool}/${ref.volume}: deleted${deferring ? ` (kept in the storage until ${dependents.join(', ')} no longer need it)` : ''}`);
        }),
      ),
    );
  }

  /** Grows a volume, or shrinks it when `shrink` is set (refused with snapshots or while in use). */
  async resize(ref: VolumeRef, size: number | string, shrink = false, force = false): Promise<VolumeInfo> {
    const capacity = roundUp(parseSize(size));
    const { pool, volume: name } = ref;
    return operate(this.ctx, 'volume.resize', [], () =>
      this.w.gate.inPool(pool, (p) =>
        this.w.locked(pool, name, 'resize', true, async () => {
          const vol = await this.w.read(p, name);
          // A shrink where shrinking is offered is its own feature: what withholds growing (a thick LV's
          // snapshots) says nothing of it.
          const canShrink = featuresFor(p.type.capabilities, p.traits, vol.format, vol.kind).includes('shrink');
          if (capacity >= vol.capacity || !canShrink) this.w.rules.require(p, vol, 'resize', force, false);
          if (capacity === vol.capacity) return vol;
          if (capacity < vol.capacity) {
            if (!shrink) throw new KvmpoolError('CANNOT_SHRINK', `${pool}/${name} is ${vol.capacity} bytes; shrinking to ${capacity} loses data: pass --shrink`, { capacity: vol.capacity, requested: capacity });
            if (!canShrink) {
              throw new KvmpoolError('CANNOT_SHRINK', `${vol.format} volume ${pool}/${name} cannot shrink`, { format: vol.format });
            }
            this.w.rules.require(p, vol, 'shrink', force, true);
            await this.w.rules.assertFree(p, vol);
          }
          const out = await this.resizeOn(p, vol, capacity);
          announce(this.ctx, 'volume.resized', `${pool}/${name}`, `volume ${pool}/${name}: resized to ${out.capacity} bytes`, { capacity: out.capacity });
          return out;
        }),
      ),
    );
  }

  /** Resizes on the host; a running VM's qemu grows an image file itself, and hears of a grown device. */
  private async resizeOn(p: ActivePool, vol: VolumeInfo, capacity: number): Promise<VolumeInfo> {
    const vm = this.w.rules.vms?.runningVmOf(p.rec.name, vol.name);
    const file = this.w.access(p, vol).access.kind === 'file';
    if (vm && file) {
      await this.w.rules.vms!.resizeLive(vm, p.rec.name, vol.name, capacity);
      return this.w.read(p, vol.name);
    }
    const out = this.w.update(p, vol, await p.driver.resize!.resize(p.def, vol, capacity, capacity < vol.capacity, quietContext(this.ctx.log)));
    if (vm) await this.w.rules.vms!.resizeLive(vm, p.rec.name, vol.name, out.capacity);
    return out;
  }

  async rename(ref: VolumeRef, newName: string, force = false): Promise<VolumeInfo> {
    validateName('volume', newName);
    const { pool, volume: name } = ref;
    return operate(this.ctx, 'volume.rename', [], () =>
      this.w.gate.inPool(pool, (p) =>
        this.w.locked(pool, name, 'rename', false, () =>
          this.w.locked(pool, newName, 'rename', false, async () => {
            const vol = await this.w.read(p, name);
            this.w.rules.require(p, vol, 'rename', force, true);
            // A rename cut short (by a crash, or an undo that failed) is completed on the next start.
            const out = await journaled(
              this.ctx,
              JOURNAL_RENAME,
              { pool, from: name, to: newName },
              async () => this.w.update(p, vol, await p.driver.rename!.rename(p.def, vol, newName, quietContext(this.ctx.log))),
              { keepOnFailure: true },
            );
            announce(this.ctx, 'volume.renamed', `${pool}/${name}`, `volume ${pool}/${name}: renamed to ${newName}`, { name: newName });
            return out;
          }),
        ),
      ),
    );
  }

  /** A volume with how its bytes are reached (for a VM's disk). */
  async open(ref: VolumeRef): Promise<{ volume: VolumeInfo; access: AccessInfo }> {
    return this.w.gate.inPool(ref.pool, async (p) => {
      const volume = await this.w.read(p, ref.volume, false);
      return { volume, access: this.w.access(p, volume) };
    });
  }

  /**
   * Makes a volume usable here for a VM until `close` (storage several hosts share: IN_USE naming the
   * host that has it); other storage is always usable.
   */
  async use(ref: VolumeRef, volume?: VolumeFacts): Promise<void> {
    const p = await this.w.gate.active(ref.pool);
    if (p.driver.claim) await this.w.claim(p, volume ?? (await this.w.read(p, ref.volume, false)));
  }

  /** Ends a VM's use of a volume (after its qemu ended, or the disk was detached): the last use here gives it up, and another host may use it. */
  async close(ref: VolumeRef): Promise<void> {
    const p = await this.w.gate.active(ref.pool);
    if (!p.driver.claim) return;
    // What the store knows serves: the volume was read when its use began.
    await this.w.unclaim(p, this.ctx.store.volumes.get(ref.pool, ref.volume)?.facts ?? (await this.w.read(p, ref.volume, false)));
  }

  /** Volumes of the pool whose backing file is this one (a VM must not write to it). */
  dependents(ref: VolumeRef): string[] {
    return this.w.rules.backingUsers(ref.pool, ref.volume);
  }
}
