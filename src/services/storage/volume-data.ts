import { errors } from '../../model/errors.js';
import { validateName, type VolumeRef } from '../../model/names.js';
import type { JobInfo } from '../../model/job-types.js';
import type { OpContext } from '../../model/op-context.js';
import { CREATE_FORMATS, GENERIC_CLONE_METHODS, WIPE_ALGORITHMS, type CreateFormat, type VolumeInfo, type WipeAlgorithm } from '../../model/volume-types.js';
import { announce } from '../operation.js';
import { createUnderJournal } from './journaled-create.js';
import type { ActivePool } from './pool-gate.js';
import { volumeLock } from './volume-records.js';
import type { VolumeWork } from './volume-work.js';

/** What `clone` accepts. */
export interface CloneInput {
  name: string;
  /** Target pool; the source's pool when omitted. */
  pool?: string;
  format?: string;
  /** `auto`, `copy`, or an instant method of the source's pool type. */
  method?: string;
}

/** What a clone job returns: the new volume, and the method `auto` (or the caller) chose. */
export interface CloneResult {
  volume: VolumeInfo;
  method: string;
}

/** What a wipe job returns: the wiped volume. */
export interface WipeResult {
  volume: VolumeInfo;
  algorithm: WipeAlgorithm;
  verified: boolean;
}

/** Moving volume data: clones and copies (between pools and formats) and wipes, each as a job. */
export class VolumeDataService {
  private readonly ctx;

  constructor(private readonly w: VolumeWork) {
    this.ctx = w.ctx;
  }

  /**
   * Clones a volume as a job. `auto` uses the first instant method of the pool type that the volume
   * offers when the pool and format stay, else a full sparse copy; a named method must be offered;
   * `copy` always copies. The source is held (no resize, delete or revert) until the clone is done.
   */
  async clone(ref: VolumeRef, input: CloneInput): Promise<JobInfo> {
    const method = input.method ?? 'auto';
    if (input.format !== undefined && !(CREATE_FORMATS as readonly string[]).includes(input.format)) {
      throw errors.invalid(`unknown volume format '${input.format}': expected ${CREATE_FORMATS.join(' or ')}`);
    }
    const targetName = validateName('volume', input.name);
    const src = await this.w.gate.active(ref.pool);
    const dst = input.pool === undefined || input.pool === ref.pool ? src : await this.w.gate.active(input.pool);
    const known = [...GENERIC_CLONE_METHODS, ...this.ctx.storageTypes.list().flatMap((t) => Object.keys(t.driver.clones ?? {}))];
    if (!known.includes(method)) throw errors.invalid(`unknown clone method '${method}': expected ${[...new Set(known)].join(', ')}`);
    const releases: (() => void)[] = [this.w.gate.enter(src.rec.name)];
    const releaseAll = () => releases.splice(0).reverse().forEach((r) => r());
    try {
      if (dst !== src) releases.push(this.w.gate.enter(dst.rec.name));
      releases.push(await this.ctx.locks.acquire(volumeLock(src.rec.name, ref.volume), 'clone source'));
      releases.push(this.ctx.locks.tryAcquire(volumeLock(dst.rec.name, targetName), 'clone', `volume ${dst.rec.name}/${targetName}`));
      if (this.ctx.store.volumes.get(dst.rec.name, targetName)) throw errors.exists('volume', `${dst.rec.name}/${targetName}`);
      const source = await this.w.read(src, ref.volume);
      const plan = this.plan(src, dst, source, method, input.format as CreateFormat | undefined);
      const make = async (o: OpContext) => {
        const target = { name: targetName, format: plan.format };
        if (plan.method !== 'copy') return src.driver.clones![plan.method]!.clone(src.def, source, target, o);
        const copy = { access: this.w.access(src, source), format: source.format, capacity: source.capacity };
        const giveUp = await this.w.claim(src, source);
        try {
          return await dst.driver.copy!.copyInto(dst.def, copy, target, dst.traits, o);
        } finally {
          await giveUp();
        }
      };
      const work = async (op: OpContext): Promise<CloneResult> => {
        try {
          const record = await this.ctx.metrics.observe(`volume.clone.${plan.method}`, () => createUnderJournal(this.ctx, this.w.records, dst, targetName, plan.format, op, make));
          this.ctx.log(`volume ${ref.pool}/${ref.volume}: cloned to ${dst.rec.name}/${targetName} (${plan.method})`);
          return { volume: this.w.rules.describe(dst, record), method: plan.method };
        } finally {
          releaseAll();
        }
      };
      return this.ctx.jobs.start('volume.clone', `${ref.pool}/${ref.volume}`, work);
    } catch (e) {
      releaseAll();
      throw e;
    }
  }

  /** Wipes a volume as a job; refused while it is in use or has snapshots. */
  async wipe(ref: VolumeRef, algorithmInput: string | undefined, verify: boolean, force = false): Promise<JobInfo> {
    const algorithm = (algorithmInput ?? 'zero') as WipeAlgorithm;
    if (!(WIPE_ALGORITHMS as readonly string[]).includes(algorithm)) throw errors.invalid(`unknown wipe algorithm '${algorithmInput}': expected ${WIPE_ALGORITHMS.join(', ')}`);
    const subject = `${ref.pool}/${ref.volume}`;
    const { job } = await this.w.volumeJob(
      ref.pool,
      ref.volume,
      'wipe',
      { kind: 'volume.wipe', target: subject },
      async (p, vol) => {
        this.w.rules.require(p, vol, 'wipe', force, true);
        await this.w.rules.assertFree(p, vol);
      },
      async (p, vol, op): Promise<WipeResult> => {
        const facts = await this.ctx.metrics.observe(`volume.wipe.${algorithm}`, () => p.driver.wipe!.wipe(p.def, vol, algorithm, verify, op));
        const volume = this.w.update(p, vol, facts);
        announce(this.ctx, 'volume.wiped', subject, `volume ${subject}: wiped (${algorithm}${verify ? ', verified' : ''})`, { algorithm, verified: verify });
        return { volume, algorithm, verified: verify };
      },
    );
    return job;
  }

  /** Gives a layered clone its own copy of its parent's data, as a job whose result is the volume (no longer a clone). */
  async flatten(ref: VolumeRef): Promise<JobInfo> {
    const subject = `${ref.pool}/${ref.volume}`;
    const { job } = await this.w.volumeJob(
      ref.pool,
      ref.volume,
      'flatten',
      { kind: 'volume.flatten', target: subject },
      async (p, vol) => this.w.rules.require(p, vol, 'flatten', false, false),
      async (p, vol, op): Promise<{ volume: VolumeInfo }> => {
        const facts = await this.ctx.metrics.observe('volume.flatten', () => p.driver.flatten!.flatten(p.def, vol, op));
        const volume = this.w.update(p, vol, facts);
        announce(this.ctx, 'volume.flattened', subject, `volume ${subject}: flattened (no longer depends on ${vol.parent ?? 'its parent'})`);
        return { volume };
      },
    );
    return job;
  }

  /** Picks the clone method and target format, or says why the asked one cannot be used. */
  private plan(src: ActivePool, dst: ActivePool, source: VolumeInfo, method: string, format: CreateFormat | undefined): { method: string; format: CreateFormat } {
    const samePool = src.rec.name === dst.rec.name;
    const keep: CreateFormat = (CREATE_FORMATS as readonly string[]).includes(source.format) ? (source.format as CreateFormat) : 'raw';
    const methods = src.driver.clones ?? {};
    const formatOf = (m: string) => (methods[m]!.format === 'source' ? keep : methods[m]!.format);
    if (method !== 'auto' && method !== 'copy') {
      if (!methods[method]) throw errors.notSupported(`pools of type ${src.rec.type} have no ${method} clones: use --method copy`, { method });
      if (!samePool) throw errors.notSupported(`a ${method} clone stays in the pool of its source: drop --to or use --method copy`, { method });
      if (format !== undefined && format !== formatOf(method)) {
        // A method that makes its own format is asked for the wrong one; one that keeps the source's cannot convert.
        if (methods[method]!.format !== 'source') throw errors.invalid(`a ${method} clone is a ${formatOf(method)} volume: use --format ${formatOf(method)} or another method`, { method });
        throw errors.notSupported(`a ${method} clone keeps the format of its source: drop --format or use --method copy`, { method });
      }
      this.w.rules.require(src, source, `clone-${method}`, false, false);
      return { method, format: formatOf(method) };
    }
    if (method === 'auto' && samePool) {
      const instant = Object.keys(methods).find((m) => methods[m]!.format === 'source' && (format ?? keep) === keep && source.features.includes(`clone-${m}`));
      if (instant) return { method: instant, format: keep };
    }
    this.w.rules.require(src, source, 'clone', false, false);
    if (!dst.driver.copy) throw errors.notSupported(`pools of type ${dst.rec.type} take no copies`);
    return { method: 'copy', format: format ?? keep };
  }
}
