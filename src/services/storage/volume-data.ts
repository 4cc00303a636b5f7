import { errors } from '../../model/errors.js';
import { validateName } from '../../model/names.js';
import { CLONE_METHODS, CREATE_FORMATS, WIPE_ALGORITHMS, type CloneMethod, type CreateFormat, type JobInfo, type VolumeInfo, type WipeAlgorithm } from '../../model/types.js';
import type { PoolRecord } from '../../state/store.js';
import type { OpContext } from '../../drivers/storage/driver.js';
import type { VolumeAccess } from './volume-access.js';
import { volumeLock } from './volume-access.js';
import type { VolumeService } from './volumes.js';

/** What `clone` accepts. */
export interface CloneInput {
  name: string;
  /** Target pool; the source's pool when omitted. */
  pool?: string;
  format?: string;
  method?: string;
}

/** What a clone job returns: the new volume and the method `auto` (or the caller) chose. */
export interface CloneResult {
  volume: string;
  method: Exclude<CloneMethod, 'auto'>;
}

/** Moving volume data: clones and copies (between pools and formats) and wipes, each as a job. */
export class VolumeDataService {
  private readonly ctx;

  constructor(
    private readonly access: VolumeAccess,
    private readonly volumes: VolumeService,
  ) {
    this.ctx = access.ctx;
  }

  /**
   * Clones `pool/name` as a job. `auto` uses reflink where the pool shares extents and the format
   * stays, else a full sparse copy; `linked` makes a qcow2 overlay (same pool); `copy` always copies.
   * The source is held (no resize, delete or revert) until the clone is done.
   */
  async clone(pool: string, name: string, input: CloneInput): Promise<JobInfo> {
    const method = (input.method ?? 'auto') as CloneMethod;
    if (!(CLONE_METHODS as readonly string[]).includes(method)) throw errors.invalid(`unknown clone method '${input.method}': expected ${CLONE_METHODS.join(', ')}`);
    if (input.format !== undefined && !(CREATE_FORMATS as readonly string[]).includes(input.format)) {
      throw errors.invalid(`unknown volume format '${input.format}': expected ${CREATE_FORMATS.join(' or ')}`);
    }
    const targetName = validateName('volume', input.name);
    const src = await this.access.activePool(pool);
    const dst = input.pool === undefined || input.pool === pool ? src : await this.access.activePool(input.pool);
    const releases: (() => void)[] = [this.access.enter(src.name)];
    const releaseAll = () => releases.splice(0).reverse().forEach((r) => r());
    try {
      if (dst !== src) releases.push(this.access.enter(dst.name));
      releases.push(await this.ctx.locks.acquire(volumeLock(src.name, name), 'clone source'));
      releases.push(this.ctx.locks.tryAcquire(volumeLock(dst.name, targetName), 'clone', `volume ${dst.name}/${targetName}`));
      if (this.ctx.store.getVolume(dst.name, targetName)) throw errors.exists('volume', `${dst.name}/${targetName}`);
      const source = await this.access.read(src, name);
      // A running guest writes to its disk while it would be read: the copy would be torn.
      const vm = this.access.vms?.runningVmOf(src.name, name);
      if (vm && !this.access.vms!.readonlyDisk(vm, src.name, name)) throw errors.inUse(`${src.name}/${name} is a writable disk of running vm ${vm}: stop it to clone`, { vm });
      const plan = this.plan(src, dst, source, method, input.format as CreateFormat | undefined);
      const work = async (op: OpContext): Promise<CloneResult> => {
        try {
          await this.ctx.metrics.observe(`volume.clone.${plan.method}`, () =>
            this.volumes.journaledCreate(dst, targetName, plan.format, op, (o) =>
              plan.method === 'copy'
                ? this.access.driver(dst).copyVolume(dst, { path: source.path, format: source.format, capacity: source.capacity }, { name: targetName, format: plan.format }, this.access.traitsOf(dst), o)
                : this.access.driver(src).cloneVolume(src, source, { name: targetName, format: plan.format }, plan.method, o),
            ),
          );
          this.ctx.log(`volume ${src.name}/${name}: cloned to ${dst.name}/${targetName} (${plan.method})`);
          return { volume: `${dst.name}/${targetName}`, method: plan.method };
        } finally {
          releaseAll();
        }
      };
      return this.ctx.jobs.start('volume.clone', `${src.name}/${name}`, work);
    } catch (e) {
      releaseAll();
      throw e;
    }
  }

  /** Wipes a volume as a job; refused while it is in use or has snapshots. */
  async wipe(pool: string, name: string, algorithmInput: string | undefined, verify: boolean, force = false): Promise<JobInfo> {
    const algorithm = (algorithmInput ?? 'zero') as WipeAlgorithm;
    if (!(WIPE_ALGORITHMS as readonly string[]).includes(algorithm)) throw errors.invalid(`unknown wipe algorithm '${algorithmInput}': expected ${WIPE_ALGORITHMS.join(', ')}`);
    const { job } = await this.access.volumeJob(
      pool,
      name,
      'wipe',
      { kind: 'volume.wipe', target: `${pool}/${name}` },
      async (rec, vol) => {
        this.access.require(vol, 'wipe', force, true);
        if (vol.snapshots) throw errors.inUse(`${pool}/${name} has ${vol.snapshots} snapshot(s) that keep its data: delete them first`, { snapshots: vol.snapshots });
        await this.access.assertFree(rec, vol);
      },
      async (rec, vol, op) => {
        const facts = await this.ctx.metrics.observe(`volume.wipe.${algorithm}`, () => this.access.driver(rec).wipeVolume(rec, vol, algorithm, verify, op));
        this.access.update(rec, vol, facts);
        this.ctx.events.emit('volume.wiped', `${pool}/${name}`, { algorithm, verified: verify });
        this.ctx.log(`volume ${pool}/${name}: wiped (${algorithm}${verify ? ', verified' : ''})`);
        return { volume: `${pool}/${name}`, algorithm, verified: verify };
      },
    );
    return job;
  }

  /** Picks the clone method and target format, or says why the asked one cannot be used. */
  private plan(src: PoolRecord, dst: PoolRecord, source: VolumeInfo, method: CloneMethod, format: CreateFormat | undefined): { method: Exclude<CloneMethod, 'auto'>; format: CreateFormat } {
    const samePool = src.name === dst.name;
    const sameFormat = (format ?? source.format) === source.format;
    const keep: CreateFormat = (CREATE_FORMATS as readonly string[]).includes(source.format) ? (source.format as CreateFormat) : 'raw';
    if (method === 'linked') {
      if (!samePool) throw errors.notSupported('a linked clone lives in the pool of its backing volume: drop --to or use --method copy');
      if (format === 'raw') throw errors.invalid('a linked clone is a qcow2 overlay: use --format qcow2 or another method');
      this.access.require(source, 'clone-linked', false, false);
      return { method: 'linked', format: 'qcow2' };
    }
    if (method === 'reflink' || (method === 'auto' && samePool && sameFormat && source.features.includes('clone-reflink'))) {
      if (!samePool) throw errors.notSupported('reflink clones stay in the pool of their source: drop --to or use --method copy');
      if (!sameFormat) throw errors.notSupported('a reflink clone keeps the format of its source: drop --format or use --method copy');
      this.access.require(source, 'clone-reflink', false, false);
      return { method: 'reflink', format: keep };
    }
    this.access.require(source, 'clone', false, false);
    return { method: 'copy', format: format ?? keep };
  }
}
