import { stat } from 'node:fs/promises';
import { KvmpoolError, errors } from '../../model/errors.js';
import { validateName } from '../../model/names.js';
import { parseSize, roundUp } from '../../model/sizes.js';
import { CREATE_FORMATS, PREALLOC_MODES, type CreateFormat, type JobInfo, type Prealloc, type VolumeFacts, type VolumeInfo } from '../../model/types.js';
import type { PoolRecord, VolumeRecord } from '../../state/store.js';
import type { OpContext, StorageDriver, VolumeSpec } from '../../drivers/storage/driver.js';
import { Reverter } from '../../model/reverter.js';
import { JOURNAL_CREATE, JOURNAL_RENAME, VolumeAccess, known, volumeLock } from './volume-access.js';

/** What `create` accepts (sizes as bytes or strings like `10G`). */
export interface CreateVolumeInput {
  name: string;
  capacity: number | string;
  format?: string;
  prealloc?: string;
  clusterSize?: number | string;
  lazyRefcounts?: boolean;
  thin?: boolean;
  stripes?: number;
  stripeSize?: number | string;
  mirrors?: number;
}

/** A create either finished at once or runs as a job (preallocation writes the whole volume). */
export type CreateOutcome = { volume: VolumeInfo } | { job: JobInfo };

/** Volumes of running pools: list, info, create, delete, resize, rename; and reconciliation with the host. */
export class VolumeService {
  private readonly ctx;

  constructor(private readonly access: VolumeAccess) {
    this.ctx = access.ctx;
  }

  async list(pool: string): Promise<VolumeInfo[]> {
    return this.access.inPool(pool, async (rec) => {
      await this.reconcile(rec);
      return this.ctx.store.listVolumes(pool).map((v) => this.access.describe(rec, v));
    });
  }

  async info(pool: string, name: string): Promise<VolumeInfo> {
    return this.access.inPool(pool, (rec) => this.access.read(rec, name, false));
  }

  /** Creates a volume; preallocated ones (`falloc`, `full`) run as a job. */
  async create(pool: string, input: CreateVolumeInput): Promise<CreateOutcome> {
    const rec = await this.access.activePool(pool);
    const driver = this.access.driver(rec);
    const spec = createSpec(driver, input);
    const writesData = spec.prealloc === 'full' || spec.prealloc === 'falloc';
    const status = writesData ? await driver.status(rec, false) : undefined;
    if (status && spec.capacity > status.available) {
      throw new KvmpoolError('NO_SPACE', `pool '${pool}' has ${status.available} bytes available, ${spec.capacity} needed`, { pool, available: status.available, needed: spec.capacity });
    }
    const leave = this.access.enter(pool);
    let release: () => void = () => {};
    try {
      release = this.ctx.locks.tryAcquire(volumeLock(pool, spec.name), 'create', `volume ${pool}/${spec.name}`);
      if (this.ctx.store.getVolume(pool, spec.name)) throw errors.exists('volume', `${pool}/${spec.name}`);
    } catch (e) {
      release();
      leave();
      throw e;
    }
    const work = async (op: OpContext) => {
      try {
        const record = await this.ctx.metrics.observe('volume.create', () => this.journaledCreate(rec, spec.name, spec.format, op, (o) => driver.createVolume(rec, spec, o)));
        return this.access.describe(rec, record);
      } finally {
        release();
        leave();
      }
    };
    if (writesData) return { job: this.ctx.jobs.start('volume.create', `${pool}/${spec.name}`, async (op) => (await work(op)).name) };
    return { volume: await work(this.access.op()) };
  }

  /**
   * Makes a new volume with `make` under the journal: a crash before the record is written leaves a
   * journal entry from which the next start discards the partial file; a failure removes the volume.
   * The caller holds the new volume's lock.
   */
  async journaledCreate(rec: PoolRecord, name: string, format: string, op: OpContext, make: (op: OpContext) => Promise<VolumeFacts>): Promise<VolumeRecord> {
    const driver = this.access.driver(rec);
    return Reverter.run(this.ctx.log, async (revert) => {
      const journal = this.ctx.store.addJournal(JOURNAL_CREATE, { pool: rec.name, name, format }, new Date().toISOString());
      revert.add('clear the journal entry', () => this.ctx.store.removeJournal(journal));
      const facts = await make(op);
      revert.add(`delete ${facts.path}`, () => driver.deleteVolume(rec, facts, op));
      const record = this.access.recordNew(rec, facts);
      this.ctx.store.removeJournal(journal);
      this.ctx.events.emit('volume.created', `${rec.name}/${name}`, { format: facts.format, capacity: facts.capacity });
      this.ctx.log(`volume ${rec.name}/${name}: created (${facts.format}, ${facts.capacity} bytes)`);
      return record;
    });
  }

  async delete(pool: string, name: string, force = false): Promise<void> {
    await this.ctx.metrics.observe('volume.delete', () =>
      this.access.inPool(pool, (rec) =>
      this.access.locked(pool, name, 'delete', false, async () => {
        const vol = await this.access.read(rec, name);
        this.access.require(vol, 'delete', force, true);
        this.assertNoVm(pool, name);
        await this.access.assertFree(rec, vol);
        await this.access.driver(rec).deleteVolume(rec, vol, this.access.op());
        this.access.forget(rec, vol);
        this.ctx.events.emit('volume.deleted', `${pool}/${name}`);
        this.ctx.log(`volume ${pool}/${name}: deleted`);
      })));
  }

  /** Grows a volume, or shrinks it when `shrink` is set (refused with snapshots or while in use). */
  async resize(pool: string, name: string, size: number | string, shrink = false, force = false): Promise<VolumeInfo> {
    const capacity = roundUp(parseSize(size));
    return this.ctx.metrics.observe('volume.resize', () =>
      this.access.inPool(pool, (rec) =>
      this.access.locked(pool, name, 'resize', true, async () => {
        const vol = await this.access.read(rec, name);
        this.access.require(vol, 'resize', force, false);
        if (capacity === vol.capacity) return vol;
        if (capacity < vol.capacity) {
          if (!shrink) throw new KvmpoolError('CANNOT_SHRINK', `${pool}/${name} is ${vol.capacity} bytes; shrinking to ${capacity} loses data: pass --shrink`, { capacity: vol.capacity, requested: capacity });
          if (vol.snapshots) throw new KvmpoolError('CANNOT_SHRINK', `${pool}/${name} has ${vol.snapshots} snapshot(s): it cannot shrink`, { snapshots: vol.snapshots });
          if (!vol.features.includes('shrink')) throw new KvmpoolError('CANNOT_SHRINK', `${vol.format} volume ${pool}/${name} cannot shrink`, { format: vol.format });
          this.access.require(vol, 'shrink', force, true);
          await this.access.assertFree(rec, vol);
        }
        const vm = this.access.vms?.runningVmOf(pool, name);
        let out: VolumeInfo;
        if (vm && !(await stat(vol.path)).isBlockDevice()) {
          // qemu holds the image: it grows the file itself, and the guest sees the new size at once.
          await this.access.vms!.resizeLive(vm, pool, name, capacity);
          out = await this.access.read(rec, name);
        } else {
          out = this.access.update(rec, vol, await this.access.driver(rec).resizeVolume(rec, vol, capacity, capacity < vol.capacity, this.access.op()));
          // A block device grows under qemu: qemu is told, and tells the guest.
          if (vm) await this.access.vms!.resizeLive(vm, pool, name, out.capacity);
        }
        this.ctx.events.emit('volume.resized', `${pool}/${name}`, { capacity: out.capacity });
        this.ctx.log(`volume ${pool}/${name}: resized to ${out.capacity} bytes`);
        return out;
      })));
  }

  /** Volumes of the pool whose backing file is this one (a VM must not write to it). */
  async dependents(pool: string, vol: VolumeFacts): Promise<string[]> {
    return this.access.inPool(pool, async (rec) => this.access.backingUsers(rec, vol));
  }

  /** IN_USE when a VM (running or not) has the volume as a disk. */
  private assertNoVm(pool: string, name: string): void {
    const vm = this.access.vms?.definedVmOf(pool, name);
    if (vm) throw errors.inUse(`${pool}/${name} is a disk of vm ${vm}: detach it first`, { vm });
  }

  async rename(pool: string, name: string, newName: string, force = false): Promise<VolumeInfo> {
    validateName('volume', newName);
    return this.ctx.metrics.observe('volume.rename', () =>
      this.access.inPool(pool, (rec) =>
      this.access.locked(pool, name, 'rename', false, () =>
        this.access.locked(pool, newName, 'rename', false, async () => {
          const vol = await this.access.read(rec, name);
          this.access.require(vol, 'rename', force, true);
          this.assertNoVm(pool, name);
          const dependents = this.access.backingUsers(rec, vol);
          if (dependents.length > 0) throw errors.inUse(`${pool}/${name} is the backing file of ${dependents.join(', ')}`, { users: dependents });
          const journal = this.ctx.store.addJournal(JOURNAL_RENAME, { pool, from: name, to: newName }, new Date().toISOString());
          const facts = await this.access.driver(rec).renameVolume(rec, vol, newName, this.access.op());
          const out = this.access.update(rec, vol, facts);
          this.ctx.store.removeJournal(journal);
          this.ctx.events.emit('volume.renamed', `${pool}/${name}`, { name: newName });
          this.ctx.log(`volume ${pool}/${name}: renamed to ${newName}`);
          return out;
        }),
      )));
  }

  /**
   * Makes the store match the pool's contents: files added outside appear (not managed by kvmpool),
   * files removed outside disappear, a file renamed outside keeps its key. Volumes busy with an
   * operation are left as they are.
   */
  async reconcile(rec: PoolRecord): Promise<void> {
    // One reconciliation per pool at a time, so a new file gets one key.
    await this.ctx.locks.with(`reconcile:${rec.name}`, 'reconcile', async () => {
      const since = this.access.beginReconcile();
      try {
        const before = this.ctx.store.listVolumes(rec.name);
        const facts = await this.access.driver(rec).listVolumes(rec, new Map(before.map((v) => [v.name, known(v)])));
        // Whatever kvmpool changed while the host was read is newer than the listing: leave it.
        const settled = (name: string) => !this.ctx.locks.holder(volumeLock(rec.name, name)) && !this.access.touchedSince(rec.name, name, since);
        this.ctx.store.transaction(() => {
          const stored = this.ctx.store.listVolumes(rec.name);
          const seen = new Set<string>();
          for (const f of facts) {
            const byName = stored.find((v) => v.name === f.name);
            if (!settled(f.name)) {
              if (byName) seen.add(byName.key);
              continue;
            }
            const match = byName ?? stored.find((v) => v.facts.identity === f.identity && !seen.has(v.key) && settled(v.name));
            seen.add(this.access.remember(rec, f, match).key);
          }
          for (const v of stored) if (!seen.has(v.key) && settled(v.name)) this.ctx.store.deleteVolume(v.key);
        });
      } finally {
        this.access.endReconcile();
      }
    });
  }

  /** Volumes on the host for a pool that may be stopped (used by pool delete). */
  async readAll(rec: PoolRecord): Promise<VolumeRecord[]> {
    await this.reconcile(rec);
    return this.ctx.store.listVolumes(rec.name);
  }

  /** Deletes the volumes kvmpool created (pool delete --force); foreign ones stay. */
  async deleteManaged(rec: PoolRecord, vols: VolumeRecord[], op: OpContext): Promise<void> {
    for (const v of vols.filter((x) => x.managed)) {
      await this.access.locked(rec.name, v.name, 'delete', false, async () => {
        await this.access.assertFree(rec, this.access.describe(rec, v));
        await this.access.driver(rec).deleteVolume(rec, v.facts, op);
        this.access.forget(rec, v);
      });
    }
  }

  /** IN_USE when any volume of the pool is busy or open (pool stop). */
  async assertNoneInUse(rec: PoolRecord): Promise<void> {
    for (const v of this.ctx.store.listVolumes(rec.name)) await this.access.assertFree(rec, this.access.describe(rec, v), true);
  }

  /**
   * Repairs what a crash interrupted, from the journal: a create's partial file is discarded, and a
   * volume it had already published (complete, but not yet recorded) is recorded as kvmpool's; a
   * rename cut between its two steps is completed.
   */
  async recover(): Promise<void> {
    for (const entry of this.ctx.store.listJournal()) {
      const data = entry.data as { pool: string; name?: string; format?: string; from?: string; to?: string };
      const rec = this.ctx.store.getPool(data.pool);
      try {
        if (rec && entry.kind === JOURNAL_CREATE && data.name) await this.recoverCreate(rec, data.name, data.format ?? 'raw');
        if (rec && entry.kind === JOURNAL_RENAME && data.from && data.to) {
          await this.access.driver(rec).finishRename(rec, data.from, data.to);
          this.ctx.log(`recover: completed the interrupted rename of ${rec.name}/${data.from} to ${data.to}`);
        }
      } catch (e) {
        this.ctx.log(`recover: ${entry.kind} ${JSON.stringify(data)}: ${e instanceof Error ? e.message : String(e)}`);
      }
      this.ctx.store.removeJournal(entry.id);
    }
  }

  private async recoverCreate(rec: PoolRecord, name: string, format: string): Promise<void> {
    const driver = this.access.driver(rec);
    await driver.discardPartial(rec, name);
    const facts = await driver.volumeInfo(rec, undefined, name).catch(() => undefined);
    if (facts && !this.ctx.store.getVolume(rec.name, name)) {
      // Create refuses an existing name and holds the name's lock, so this file is the one it made.
      const own = await driver.volumeInfo(rec, { name, format, identity: facts.identity }, name);
      this.access.recordNew(rec, own);
      this.ctx.log(`recover: recorded ${rec.name}/${name}, completed before the interruption`);
    } else {
      this.ctx.log(`recover: discarded the interrupted create of ${rec.name}/${name}`);
    }
  }
}

function createSpec(driver: StorageDriver, input: CreateVolumeInput): VolumeSpec {
  const name = validateName('volume', input.name);
  const format = (input.format ?? 'raw') as CreateFormat;
  if (!(CREATE_FORMATS as readonly string[]).includes(format) || !driver.createFormats.includes(format)) {
    throw errors.invalid(`unknown volume format '${input.format}': expected ${driver.createFormats.join(' or ')}`, { format: input.format });
  }
  const prealloc = (input.prealloc ?? 'off') as Prealloc;
  if (!(PREALLOC_MODES as readonly string[]).includes(prealloc)) throw errors.invalid(`unknown preallocation '${input.prealloc}': expected ${PREALLOC_MODES.join(', ')}`);
  if (prealloc === 'metadata' && format !== 'qcow2') throw errors.invalid("preallocation 'metadata' needs format qcow2");
  const spec: VolumeSpec = { name, format, capacity: roundUp(parseSize(input.capacity)), prealloc };
  if ((input.clusterSize !== undefined || input.lazyRefcounts !== undefined) && format !== 'qcow2') {
    throw errors.invalid('cluster size and lazy refcounts apply to qcow2 only');
  }
  if (input.clusterSize !== undefined) {
    const c = parseSize(input.clusterSize);
    if (c < 512 || c > 2 * 1024 * 1024 || (c & (c - 1)) !== 0) throw errors.invalid(`invalid cluster size ${input.clusterSize}: a power of two from 512 to 2M`);
    spec.clusterSize = c;
  }
  if (input.lazyRefcounts !== undefined) spec.lazyRefcounts = input.lazyRefcounts;
  const layout = input.thin !== undefined || input.stripes !== undefined || input.stripeSize !== undefined || input.mirrors !== undefined;
  if (layout && driver.type !== 'logical') throw errors.invalid('thin, striped and mirrored volumes are LVs: they need a logical pool');
  if (input.thin) spec.thin = true;
  if (input.stripes !== undefined) spec.stripes = input.stripes;
  if (input.mirrors !== undefined) spec.mirrors = input.mirrors;
  if (input.stripeSize !== undefined) {
    const s = parseSize(input.stripeSize);
    if (s < 4096 || s > 512 * 1024 ** 2 || (s & (s - 1)) !== 0) throw errors.invalid(`invalid stripe size ${input.stripeSize}: a power of two from 4K to 512M`);
    if (!input.stripes || input.stripes < 2) throw errors.invalid('a stripe size needs --stripes 2 or more');
    spec.stripeSize = s;
  }
  return spec;
}
