/** Plain types of pools: definitions, states and what the host says about a running pool. */

/** Pool states: defined but not started, started and healthy, started but with a problem (see `reason`). */
export const POOL_STATES = ['inactive', 'running', 'degraded'] as const;
export type PoolState = (typeof POOL_STATES)[number];

/** A pool type's settings (`source`): each type declares their schema; secrets are kept apart. */
export type PoolSource = Record<string, unknown>;

/** What a user defines, as the drivers get it. */
export interface PoolDefinition<S = PoolSource> {
  name: string;
  /** A registered storage type (drivers/storage/registry.ts). */
  type: string;
  /** Where volumes appear on the host: a directory (dir, fs), /dev/VG (logical), /dev (disk). */
  target: string;
  autostart: boolean;
  /** The type's settings, checked against its schema; secret fields are never here. */
  source: S;
  /** Where each secret of the source is kept (a file of mode 0600), by field name. */
  secrets: Record<string, string>;
}

/** A device of a block pool, with its size and what is still free on it. */
export interface PoolDevice {
  path: string;
  size: number;
  free: number;
}

/** Usage of a logical pool's thin pool. */
export interface ThinPoolUsage {
  name: string;
  size: number;
  dataPercent: number;
  metadataPercent: number;
  /** Sum of the thin volumes' sizes over the thin pool's size. */
  overcommit: number;
}

/** What the host says about a running pool. */
export interface PoolStatus {
  state: PoolState;
  reason?: string;
  capacity: number;
  allocation: number;
  available: number;
  devices?: PoolDevice[];
  thin?: ThinPoolUsage;
  /** disk: ranges not yet partitioned (aligned), where new volumes go. */
  freeExtents?: { start: number; size: number }[];
  /** A degraded pool whose volumes can still be used (a thin pool past its warning threshold). */
  usable?: boolean;
}

/** A pool as the API returns it: its secrets by name only. */
export interface PoolInfo extends Omit<PoolDefinition, 'secrets'>, PoolStatus {
  secrets: string[];
  built: boolean;
  volumes: number;
}
