import { KvmpoolError, errors } from '../../model/errors.js';
import { currentFeatures, featuresFor, withholdingState, type CapabilityTable, type VolumeFeature, type VolumeState, type VolumeStates } from '../../model/capabilities.js';
import type { VolumeFacts, VolumeInfo } from '../../model/volume-types.js';
import { PUBLIC_FACT_KEYS } from '../../model/volume-schema.js';
import type { VolumeRecord } from '../../state/store.js';
import type { ServiceContext } from '../context.js';
import type { ActivePool } from './pool-gate.js';
import { volumeLock } from './volume-records.js';
import type { VmDisks, VolumeAttachment } from './vm-disks.js';

/** Longest backing chain followed. */
const MAX_CHAIN = 16;

/** What the volumes of a pool know of each other (by name, who is backed by whom) and of the VMs that have them. */
interface PoolIndex {
  byName: (name: string) => VolumeFacts | undefined;
  backedBy: (name: string) => string[];
  attachment: (name: string) => VolumeAttachment | undefined;
}

/**
 * What a volume may do now and why not: its features (from its type's capability table, its pool's
 * storage and its state), the checks before an operation, and the backing chains that must stay
 * inside the pool.
 */
export class VolumeRules {
  /** Set by the daemon: which VMs have a volume as a disk. */
  vms?: VmDisks;

  private readonly featureCache = new WeakMap<CapabilityTable, Map<string, VolumeFeature[]>>();

  constructor(private readonly ctx: ServiceContext) {}

  /** A volume as the API shows it, its state and features included (never its stamp, the store's business). */
  describe(pool: ActivePool, v: VolumeRecord, index: PoolIndex = this.storeIndex(pool.rec.name)): VolumeInfo {
    const problem = chainProblem(v.facts, index);
    const read = problem ? { ...v.facts, backingOutsidePool: true, warnings: [...new Set([...(v.facts.warnings ?? []), problem])] } : v.facts;
    // Exactly the API's facts (listings are serialized as they are): a field another version stored stays in the store.
    const facts = pickPublic(read);
    // A volume that cannot be opened safely (its backing chain leaves the pool, or it cannot be read)
    // only ever offers delete and rename (still refused while it is in use); others follow its state.
    const broken = facts.backingOutsidePool === true || facts.unreadable === true;
    const features = this.features(pool, facts, broken ? undefined : this.states(pool.rec.name, facts, index));
    const info: VolumeInfo = Object.assign(facts, { pool: pool.rec.name, key: v.key, managed: v.managed, created: v.created, features });
    const busy = this.ctx.locks.holder(volumeLock(pool.rec.name, v.name));
    if (busy) info.busy = busy;
    return info;
  }

  /**
   * The features of a volume in `states` (undefined: a broken one, which only offers delete and
   * rename). Volumes alike share one list: a listing of 100,000 volumes computes a handful.
   */
  private features(pool: ActivePool, facts: VolumeFacts, states: VolumeStates | undefined): VolumeFeature[] {
    const { capabilities } = pool.type;
    let cache = this.featureCache.get(capabilities);
    if (!cache) this.featureCache.set(capabilities, (cache = new Map()));
    const key = `${pool.traits.reflink ? 'r' : ''}${pool.traits.directIO ? 'd' : ''}|${facts.format}|${facts.kind ?? ''}|${states ? Object.keys(states).sort().join(',') : '!'}`;
    let features = cache.get(key);
    if (!features) {
      features = states
        ? currentFeatures(capabilities, pool.traits, facts.format, facts.kind, states)
        : featuresFor(capabilities, pool.traits, facts.format, facts.kind).filter((f) => f === 'delete' || f === 'rename');
      cache.set(key, Object.freeze(features) as VolumeFeature[]);
    }
    return features;
  }

  /**
   * Describes the volumes of a listing with one index of them. A page of a listing (`page`) asks the
   * store for what lies outside it (backing files, clones).
   */
  describeAll(pool: ActivePool, records: VolumeRecord[], page = false): VolumeInfo[] {
    const store = this.storeIndex(pool.rec.name);
    const byName = new Map(records.map((r) => [r.name, r.facts]));
    const backers = new Map<string, string[]>();
    for (const r of records) {
      const b = r.facts.backingVolume;
      if (b === undefined) continue;
      const list = backers.get(b);
      if (list) list.push(r.name);
      else backers.set(b, [r.name]);
    }
    const attachments = this.vms?.attachments(pool.rec.name) ?? new Map<string, VolumeAttachment>();
    // A page's clones may lie anywhere in the pool: asked for once, for the whole page.
    const backersOf = page ? this.ctx.store.volumes.backersOf(pool.rec.name, records.map((r) => r.name)) : undefined;
    const index: PoolIndex = backersOf
      ? { byName: (n) => byName.get(n) ?? store.byName(n), backedBy: (n) => backersOf.get(n) ?? [], attachment: (n) => attachments.get(n) }
      : { byName: (n) => byName.get(n), backedBy: (n) => backers.get(n) ?? [], attachment: (n) => attachments.get(n) };
    return records.map((r) => this.describe(pool, r, index));
  }

  /** The states a volume is in now, each with what it is about. */
  states(pool: string, facts: VolumeFacts, index: PoolIndex = this.storeIndex(pool)): VolumeStates {
    const s: VolumeStates = {};
    if (facts.snapshots) s.snapshots = `${facts.snapshots} snapshot(s)`;
    const users = index.backedBy(facts.name);
    if (users.length > 0) s.backing = users.map((u) => `${pool}/${u}`).join(', ');
    const a = index.attachment(facts.name);
    if (a) s.attached = a.vm;
    if (a?.running) s.running = a.running;
    if (a?.running && !a.writing) s.reading = a.running;
    if (a?.writing) s.writing = a.writing;
    return s;
  }

  /**
   * Refuses `feature` for the volume: NOT_SUPPORTED when its format, pool or kind cannot do it;
   * FOREIGN_VOLUME for destructive work on a volume kvmpool did not create, unless `force`; IN_USE
   * (CANNOT_SHRINK for a shrink) while one of its states withholds it.
   */
  require(pool: ActivePool, vol: VolumeInfo, feature: VolumeFeature, force: boolean, destructive: boolean, passing: readonly VolumeState[] = []): void {
    const ref = `${vol.pool}/${vol.name}`;
    const offered = featuresFor(pool.type.capabilities, pool.traits, vol.format, vol.kind);
    const broken = vol.backingOutsidePool || vol.unreadable;
    if (!offered.includes(feature) || (broken && feature !== 'delete' && feature !== 'rename')) {
      const why =
        vol.format === 'unknown' ? 'qemu-img cannot identify it, so kvmpool never changes it'
        : vol.backingOutsidePool ? 'its backing file lies outside the pool'
        : vol.unreadable ? 'it cannot be read'
        : `not supported for ${vol.format} volumes in this pool`;
      throw errors.notSupported(`cannot ${feature} ${ref}: ${why}`, { feature, format: vol.format });
    }
    if (destructive && !vol.managed && !force) {
      throw new KvmpoolError('FOREIGN_VOLUME', `${ref} was not created by kvmpool: pass --force to ${feature} it`, { volume: ref });
    }
    const states = this.states(vol.pool, vol);
    for (const s of passing) delete states[s];
    const state = withholdingState(pool.type.capabilities, vol.format, states, feature, vol.kind);
    if (state) throw stateError(ref, feature, state, states[state]!);
  }

  /**
   * IN_USE when a running VM has the volume as a disk or a process has it open (and, with `checkLock`,
   * when an operation holds it; with `dependents`, when another volume stands on it). Whether what
   * stands on a volume keeps a feature from it is the capability table's word (state `backing`, which
   * `require` checks): only a caller that does not ask `require` (pool delete --force) asks here.
   */
  async assertFree(pool: ActivePool, vol: VolumeInfo, options: { checkLock?: boolean; dependents?: boolean } = {}): Promise<void> {
    const ref = `${pool.rec.name}/${vol.name}`;
    if (options.checkLock && vol.busy) throw errors.inUse(`${ref} is busy: ${vol.busy} in progress`, { operation: vol.busy });
    const vm = this.vms?.runningVmOf(pool.rec.name, vol.name);
    if (vm) throw errors.inUse(`${ref} is a disk of running vm ${vm}`, { vm });
    const users = await pool.driver.volumeUsers(pool.def, vol);
    if (users.length > 0) throw errors.inUse(`${ref} is in use by ${users.join(', ')}`, { users });
    const dependents = options.dependents ? this.backingUsers(pool.rec.name, vol.name) : [];
    if (dependents.length > 0) throw errors.inUse(`${ref} is the backing file of ${dependents.join(', ')}`, { users: dependents });
  }

  /** Volumes of the pool whose backing file is the volume `name`, as `POOL/VOLUME`. */
  backingUsers(pool: string, name: string): string[] {
    return this.ctx.store.volumes.backedBy(pool, name).map((v) => `${pool}/${v}`);
  }

  private storeIndex(pool: string): PoolIndex {
    const vms = this.vms;
    return {
      byName: (n) => this.ctx.store.volumes.get(pool, n)?.facts,
      backedBy: (n) => this.ctx.store.volumes.backedBy(pool, n),
      attachment: (n) => {
        const vm = vms?.definedVmOf(pool, n);
        if (!vm) return undefined;
        const running = vms!.runningVmOf(pool, n);
        return { vm, ...(running ? { running, ...(!vms!.readonlyDisk(running, pool, n) ? { writing: running } : {}) } : {}) };
      },
    };
  }
}

/** The refusal of `feature` while the volume is in `state` (`about`: what the state is about). */
function stateError(ref: string, feature: VolumeFeature, state: VolumeState, about: string): KvmpoolError {
  if (feature === 'shrink' && state === 'snapshots') return new KvmpoolError('CANNOT_SHRINK', `${ref} has ${about}: it cannot shrink`, { state });
  const why: Record<VolumeState, string> = {
    snapshots: `${ref} has ${about} that keep its data: delete them first${feature === 'delete' ? ', or delete it with --force to remove them with it' : ''}`,
    backing: `${ref} is the backing file of ${about}`,
    attached: `${ref} is a disk of vm ${about}: detach it first`,
    running: `${ref} is a disk of running vm ${about}`,
    reading: `${ref} is a read-only disk of running vm ${about}: no ${feature} while it runs`,
    writing: `${ref} is a writable disk of running vm ${about}: stop it to ${feature.startsWith('clone') ? 'clone' : feature}`,
  };
  return errors.inUse(why[state], { state, ...(state === 'snapshots' || state === 'backing' ? {} : { vm: about }) });
}

/**
 * Why opening the volume with its backing chain (as resize, copy or a VM would) could read outside
 * the pool; undefined when every link is a volume of this pool with a recorded, matching format.
 */
function chainProblem(facts: VolumeFacts, index: PoolIndex): string | undefined {
  if (!facts.backingFile) return undefined;
  const seen = new Set<string>();
  for (let cur: VolumeFacts = facts; cur.backingFile; ) {
    const link = `backing file '${cur.backingFile}' of ${cur.name}`;
    if (cur.backingOutsidePool) return `${link} lies outside the pool: not followed`;
    if (!cur.backingFormat) return `${link} has no recorded format: not followed`;
    const next = cur.backingVolume === undefined ? undefined : index.byName(cur.backingVolume);
    if (!next) return `${link} is not a volume of the pool: not followed`;
    if (next.format !== cur.backingFormat) return `${link} is recorded as ${cur.backingFormat} but is ${next.format}: not followed`;
    if (seen.has(next.name) || seen.size >= MAX_CHAIN) return `the backing chain of ${facts.name} loops or is too long`;
    seen.add(next.name);
    cur = next;
  }
  return undefined;
}

function pickPublic(facts: VolumeFacts): VolumeFacts {
  const out: Record<string, unknown> = {};
  const from = facts as unknown as Record<string, unknown>;
  for (const k of PUBLIC_FACT_KEYS) if (from[k] !== undefined) out[k] = from[k];
  return out as unknown as VolumeFacts;
}
