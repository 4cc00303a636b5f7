/** Capabilities as data: what a volume can do, by format, by what its pool's storage can do, and by its state. */

/**
 * Volume features kvmpool can offer. `clone` is a full copy (read through the volume's access);
 * `clone-METHOD` is an instant clone by a method the pool type declares (reflink, linked, ...);
 * `snapshot` takes, lists and deletes snapshots, `revert` goes back to one; `flatten` copies into a
 * layered clone what it reads through to, so it no longer depends on its parent.
 */
export const BASE_FEATURES = ['delete', 'resize', 'shrink', 'rename', 'clone', 'snapshot', 'revert', 'wipe', 'upload', 'download', 'flatten'] as const;
export type VolumeFeature = (typeof BASE_FEATURES)[number] | `clone-${string}`;

/**
 * States that take features away while they last (refused with IN_USE): the volume has snapshots,
 * backs other volumes (linked clones), is a disk of a VM, a disk of a running VM, and of that, a
 * read-only one (`reading`) or a writable one (`writing`).
 */
export const VOLUME_STATES = ['snapshots', 'backing', 'attached', 'running', 'reading', 'writing'] as const;
export type VolumeState = (typeof VOLUME_STATES)[number];

/** What the states of one volume are, with what each is about (for messages). */
export type VolumeStates = Partial<Record<VolumeState, string>>;

/** What a volume of one format can do, and what each state withholds. */
export interface FormatCapabilities {
  features: readonly VolumeFeature[];
  withheld: Readonly<Record<VolumeState, readonly VolumeFeature[]>>;
}

/** What a pool's storage can do, probed when it starts. */
export interface PoolTraits {
  /** The file system shares extents between files (FICLONE): instant clones and snapshots. */
  reflink: boolean;
  /** Files can be opened with O_DIRECT (copies and VMs bypass the page cache). */
  directIO: boolean;
}

/**
 * A pool type's complete capability table: per format, per state; what the storage adds where it has
 * a trait (reflink); what volumes of a kind add (thin LVs clone instantly). Formats not listed can do
 * nothing (they are listed, never changed).
 */
export interface CapabilityTable {
  formats: Readonly<Record<string, FormatCapabilities>>;
  traits?: { reflink?: Readonly<Record<string, readonly VolumeFeature[]>> };
  kinds?: Readonly<Record<string, readonly VolumeFeature[]>>;
  /**
   * What a state withholds from volumes of a kind besides their format's list (a thick LV with
   * snapshots cannot grow while active); `*` stands for every kind not named.
   */
  kindWithheld?: Readonly<Record<string, Partial<Record<VolumeState, readonly VolumeFeature[]>>>>;
}

/** A format's capabilities: `features`, and what each state withholds (states not named withhold nothing). */
export function format(features: readonly VolumeFeature[], withheld: Partial<Record<VolumeState, readonly VolumeFeature[]>> = {}): FormatCapabilities {
  const all = Object.fromEntries(VOLUME_STATES.map((s) => [s, withheld[s] ?? []])) as Record<VolumeState, readonly VolumeFeature[]>;
  return { features, withheld: all };
}

/** What a volume of `fmt` (and `kind`) can do on storage with `traits`, in no particular state. */
export function featuresFor(table: CapabilityTable, traits: PoolTraits, fmt: string, kind?: string): VolumeFeature[] {
  const base = table.formats[fmt]?.features ?? [];
  const extra = traits.reflink ? (table.traits?.reflink?.[fmt] ?? []) : [];
  const ofKind = kind !== undefined && base.length > 0 ? (table.kinds?.[kind] ?? []) : [];
  return [...new Set([...base, ...extra, ...ofKind])];
}

/** What `state` withholds from a volume of `fmt` and `kind`: its format's list and its kind's. */
export function withheldIn(table: CapabilityTable, fmt: string, kind: string | undefined, state: VolumeState): readonly VolumeFeature[] {
  const base = table.formats[fmt]?.withheld[state] ?? [];
  const ofKind = kind === undefined ? undefined : (table.kindWithheld?.[kind] ?? table.kindWithheld?.['*'])?.[state];
  return ofKind ? [...base, ...ofKind] : base;
}

/** The state that withholds `feature` from a volume of `fmt` (and `kind`) in `states`, if any. */
export function withholdingState(table: CapabilityTable, fmt: string, states: VolumeStates, feature: VolumeFeature, kind?: string): VolumeState | undefined {
  if (!table.formats[fmt]) return undefined;
  return VOLUME_STATES.find((s) => states[s] !== undefined && withholds(withheldIn(table, fmt, kind, s), feature));
}

/** `clone` in a withheld list stands for every clone method too. */
function withholds(list: readonly VolumeFeature[], feature: VolumeFeature): boolean {
  return list.includes(feature) || (feature.startsWith('clone-') && list.includes('clone'));
}

/** What a volume can do now: its features less what its states withhold. */
export function currentFeatures(table: CapabilityTable, traits: PoolTraits, fmt: string, kind: string | undefined, states: VolumeStates): VolumeFeature[] {
  return featuresFor(table, traits, fmt, kind).filter((f) => withholdingState(table, fmt, states, f, kind) === undefined);
}
