import { BASE_FEATURES, VOLUME_STATES, type CapabilityTable, type VolumeFeature } from '../../model/capabilities.js';
import { errors } from '../../model/errors.js';
import type { AnyStorageType, StorageDriver } from './driver.js';
import { MINIMUM_WITHHELD } from './standard-states.js';

/** The verb group a feature needs. */
function groupOf(feature: VolumeFeature): keyof StorageDriver | undefined {
  if (feature.startsWith('clone-')) return 'clones';
  const groups: Record<(typeof BASE_FEATURES)[number], keyof StorageDriver | undefined> = {
    delete: 'volumes',
    resize: 'resize',
    shrink: 'resize',
    rename: 'rename',
    // A copy reads the volume through its access: no verb of its own type.
    clone: undefined,
    snapshot: 'snapshots',
    revert: 'snapshots',
    wipe: 'wipe',
    upload: 'transfers',
    download: 'transfers',
    flatten: 'flatten',
  };
  return groups[feature as (typeof BASE_FEATURES)[number]];
}

/** Every feature a table names anywhere. */
function tableFeatures(table: CapabilityTable): Set<VolumeFeature> {
  const all = new Set<VolumeFeature>();
  for (const f of Object.values(table.formats)) f.features.forEach((x) => all.add(x));
  for (const list of Object.values(table.traits?.reflink ?? {})) list.forEach((x) => all.add(x));
  for (const list of Object.values(table.kinds ?? {})) list.forEach((x) => all.add(x));
  return all;
}

/**
 * Checks that a type's capability table and its verb groups say the same: every feature it lists has
 * its verb, every verb group is offered by some feature, secrets are fields of its settings, and the
 * formats it creates are in its table. A type that does not hold together never loads.
 */
export function checkStorageType(t: AnyStorageType): void {
  const features = tableFeatures(t.capabilities);
  const d = t.driver as StorageDriver;
  const problems: string[] = [];
  for (const f of features) {
    if (!f.startsWith('clone-') && !(BASE_FEATURES as readonly string[]).includes(f)) problems.push(`unknown feature ${f}`);
    const group = groupOf(f);
    if (group && d[group] === undefined) problems.push(`${f} is listed but the driver has no ${group}`);
    if (f.startsWith('clone-') && !d.clones?.[f.slice('clone-'.length)]) problems.push(`${f} is listed but the driver has no clone method ${f.slice(6)}`);
  }
  for (const group of ['volumes', 'resize', 'rename', 'snapshots', 'wipe', 'transfers', 'flatten'] as const) {
    if (d[group] !== undefined && ![...features].some((f) => groupOf(f) === group)) problems.push(`the driver has ${group} but no feature offers it`);
  }
  for (const m of Object.keys(d.clones ?? {})) if (!features.has(`clone-${m}`)) problems.push(`clone method ${m} is offered by no feature`);
  // A copy within a pool that makes volumes needs the pool to take copies (LUNs are copied out only).
  if (features.has('clone') && d.volumes && !d.copy) problems.push('clone is listed but the driver has no copy');
  for (const [format, caps] of Object.entries(t.capabilities.formats)) {
    for (const state of VOLUME_STATES) {
      const missing = (MINIMUM_WITHHELD[state] ?? []).filter((f) => caps.features.includes(f) && !caps.withheld[state].includes(f));
      if (missing.length > 0) problems.push(`${format} volumes in state ${state} must withhold ${missing.join(', ')}`);
    }
  }
  for (const s of t.secrets) {
    if (!(s in (t.source.properties as object))) problems.push(`secret ${s} is not a field of the settings`);
    // A secret's name is the name of the file it is kept in.
    if (!/^[a-zA-Z][a-zA-Z0-9]{0,63}$/.test(s)) problems.push(`secret ${s} must be a plain name (letters and digits)`);
  }
  for (const f of d.volumes?.formats ?? []) if (!t.capabilities.formats[f]) problems.push(`format ${f} is created but not in the table`);
  if (problems.length > 0) throw new Error(`storage type ${t.name}: ${problems.join('; ')}`);
}

/** The storage types a daemon knows: this build's, and any a test adds. */
export class StorageTypes {
  private readonly byName = new Map<string, AnyStorageType>();

  constructor(
    types: readonly AnyStorageType[],
    private readonly planned: readonly string[] = [],
  ) {
    for (const t of types) {
      checkStorageType(t);
      if (this.byName.has(t.name)) throw new Error(`storage type ${t.name} is registered twice`);
      this.byName.set(t.name, t);
    }
  }

  list(): AnyStorageType[] {
    return [...this.byName.values()];
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** The type called `name`, if this daemon has it. */
  find(name: string): AnyStorageType | undefined {
    return this.byName.get(name);
  }

  /** The type called `name`; INVALID_ARGUMENT for unknown types, NOT_SUPPORTED for planned ones. */
  get(name: string): AnyStorageType {
    const t = this.byName.get(name);
    if (t) return t;
    if (this.planned.includes(name)) throw errors.notSupported(`pool type '${name}' is not supported yet (supported: ${this.names().join(', ')})`, { type: name });
    throw errors.invalid(`unknown pool type '${name}': expected one of ${this.names().join(', ')}`, { type: name });
  }
}
