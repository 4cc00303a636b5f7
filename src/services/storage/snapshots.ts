import { errors } from '../../model/errors.js';
import { validateName } from '../../model/names.js';
import { parseSize, roundUp } from '../../model/sizes.js';
import type { JobInfo, SnapshotInfo, VolumeInfo } from '../../model/types.js';
import type { VolumeAccess } from './volume-access.js';

/** Volume snapshots (qcow2 internal, reflink copies of raw volumes): list, create, revert, delete. */
export class SnapshotService {
  private readonly ctx;

  constructor(private readonly access: VolumeAccess) {
    this.ctx = access.ctx;
  }

  async list(pool: string, volume: string): Promise<SnapshotInfo[]> {
    return this.access.inPool(pool, async (rec) => {
      const vol = await this.access.read(rec, volume, false);
      this.access.require(vol, 'snapshot', false, false);
      return this.access.driver(rec).listSnapshots(rec, vol);
    });
  }

  /** Takes a snapshot; refused while a process has the volume open (a running VM snapshots through QMP). */
  async create(pool: string, volume: string, name: string, options: { size?: number | string } = {}): Promise<SnapshotInfo> {
    validateName('volume', name);
    const size = options.size !== undefined ? roundUp(parseSize(options.size)) : undefined;
    return this.withVolume(pool, volume, 'snapshot', async (rec, vol) => {
      if (size !== undefined && rec.type !== 'logical') throw errors.invalid('a snapshot size applies to copy-on-write LV snapshots (logical pools)');
      const vm = this.liveVm(rec.name, vol);
      if (vm) {
        if ((await this.access.driver(rec).listSnapshots(rec, vol)).some((s) => s.name === name)) throw errors.exists('snapshot', `${pool}/${volume}@${name}`);
        await this.access.vms!.snapshotLive(vm, pool, volume, name, false);
        await this.refresh(rec.name, vol);
        const snap = (await this.access.driver(rec).listSnapshots(rec, vol)).find((s) => s.name === name);
        if (!snap) throw errors.notFound('snapshot', `${pool}/${volume}@${name}`);
        this.ctx.events.emit('snapshot.created', `${pool}/${volume}@${name}`, { vm });
        this.ctx.log(`snapshot ${pool}/${volume}@${name}: created through vm ${vm}`);
        return snap;
      }
      await this.access.assertFree(rec, vol);
      const snap = await this.access.driver(rec).createSnapshot(rec, vol, name, this.access.op(), size !== undefined ? { size } : {});
      await this.refresh(rec.name, vol);
      this.ctx.events.emit('snapshot.created', `${pool}/${volume}@${name}`);
      this.ctx.log(`snapshot ${pool}/${volume}@${name}: created`);
      return snap;
    });
  }

  /** Reverts the volume to a snapshot, as a job; refused while the volume is in use. */
  async revert(pool: string, volume: string, name: string): Promise<JobInfo> {
    validateName('volume', name);
    const { job } = await this.access.volumeJob(
      pool,
      volume,
      'revert',
      { kind: 'snapshot.revert', target: `${pool}/${volume}@${name}` },
      async (rec, vol) => {
        this.access.require(vol, 'snapshot', false, true);
        await this.access.assertFree(rec, vol);
        const snaps = await this.access.driver(rec).listSnapshots(rec, vol);
        const snap = snaps.find((s) => s.name === name);
        if (!snap) throw errors.notFound('snapshot', `${pool}/${volume}@${name}`);
        if (snap.invalid) throw errors.invalid(`snapshot ${pool}/${volume}@${name} ran out of room for changes and is no longer valid: delete it`, { snapshot: name });
      },
      async (rec, vol, op) => {
        const facts = await this.ctx.metrics.observe('snapshot.revert', () => this.access.driver(rec).revertSnapshot(rec, vol, name, op));
        this.access.update(rec, vol, facts);
        this.ctx.events.emit('snapshot.reverted', `${pool}/${volume}@${name}`);
        this.ctx.log(`volume ${pool}/${volume}: reverted to ${name}`);
        return { volume: `${pool}/${volume}`, snapshot: name };
      },
    );
    return job;
  }

  async delete(pool: string, volume: string, name: string): Promise<void> {
    validateName('volume', name);
    await this.withVolume(pool, volume, 'snapshot delete', async (rec, vol) => {
      const vm = this.liveVm(rec.name, vol);
      if (vm) {
        if (!(await this.access.driver(rec).listSnapshots(rec, vol)).some((s) => s.name === name)) throw errors.notFound('snapshot', `${pool}/${volume}@${name}`);
        await this.access.vms!.snapshotLive(vm, pool, volume, name, true);
      }
      else {
        await this.access.assertFree(rec, vol);
        await this.access.driver(rec).deleteSnapshot(rec, vol, name, this.access.op());
      }
      await this.refresh(rec.name, vol);
      this.ctx.events.emit('snapshot.deleted', `${pool}/${volume}@${name}`);
      this.ctx.log(`snapshot ${pool}/${volume}@${name}: deleted`);
    });
  }

  /** The running VM whose qemu holds this qcow2 volume: its internal snapshots go through that qemu. */
  private liveVm(pool: string, vol: VolumeInfo): string | undefined {
    return vol.format === 'qcow2' ? this.access.vms?.runningVmOf(pool, vol.name) : undefined;
  }

  private async withVolume<T>(pool: string, volume: string, operation: string, work: (rec: import('../../state/store.js').PoolRecord, vol: VolumeInfo) => Promise<T>): Promise<T> {
    return this.ctx.metrics.observe(operation.replace(' ', '.'), () =>
      this.access.inPool(pool, (rec) =>
        this.access.locked(pool, volume, operation, true, async () => {
          const vol = await this.access.read(rec, volume);
          this.access.require(vol, 'snapshot', false, false);
          return work(rec, vol);
        }),
      ),
    );
  }

  /** Re-reads the volume so its snapshot count is current. */
  private async refresh(pool: string, vol: VolumeInfo): Promise<void> {
    const rec = await this.access.activePool(pool);
    await this.access.read(rec, vol.name);
  }
}
