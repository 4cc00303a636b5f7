import type Database from 'better-sqlite3';
import { Type } from 'typebox';
import { NETWORK_KINDS, PORT_TYPES, type NetworkDefinition, type PortDefinition, type UplinkChanges } from '../model/network-types.js';
import { decodeJson, decodeRow } from './decode.js';

/** A network definition plus its run state and what its start changed on the uplink. */
export interface NetworkRecord extends NetworkDefinition {
  active: boolean;
  bootId: string | null;
  changes: UplinkChanges | null;
  created: string;
}

/** A port definition plus when it was made. */
export interface PortRecord extends PortDefinition {
  created: string;
}

const Family = Type.Enum(['inet', 'inet6'] as const);
const Definition = Type.Object({
  name: Type.String(),
  kind: Type.Enum(NETWORK_KINDS),
  bridge: Type.String(),
  uplink: Type.Optional(Type.String()),
  vlan: Type.Optional(Type.Integer()),
  mtu: Type.Optional(Type.Integer()),
  autostart: Type.Boolean(),
});
const Changes = Type.Object({
  addresses: Type.Array(Type.Object({ family: Family, address: Type.String(), broadcast: Type.Optional(Type.String()), noprefixroute: Type.Optional(Type.Boolean()) })),
  routes: Type.Array(
    Type.Object({
      family: Family,
      dst: Type.String(),
      gateway: Type.Optional(Type.String()),
      metric: Type.Optional(Type.Integer()),
      protocol: Type.Optional(Type.String()),
      scope: Type.Optional(Type.String()),
      prefsrc: Type.Optional(Type.String()),
      onlink: Type.Optional(Type.Boolean()),
    }),
  ),
  broughtUp: Type.Boolean(),
  forced: Type.Optional(Type.Boolean()),
});
const Port = Type.Object({
  network: Type.String(),
  name: Type.String(),
  type: Type.Enum(PORT_TYPES),
  ifname: Type.String(),
  peer: Type.Optional(Type.String()),
  mac: Type.String(),
  mtu: Type.Optional(Type.Integer()),
  vlan: Type.Optional(Type.Integer()),
  trunk: Type.Optional(Type.Array(Type.Integer())),
  native: Type.Optional(Type.Integer()),
  usedBy: Type.Optional(Type.String()),
});

const NetworkRow = Type.Object({ name: Type.String(), definition: Type.String(), active: Type.Integer(), boot_id: Type.Union([Type.String(), Type.Null()]), changes: Type.Union([Type.String(), Type.Null()]), created: Type.String() });
const PortRow = Type.Object({ network: Type.String(), name: Type.String(), definition: Type.String(), created: Type.String() });

/** Network definitions and their state (definitions kept as JSON: the columns are the keys). */
export class NetworkRepository {
  constructor(private readonly db: Database.Database) {}

  list(): NetworkRecord[] {
    return this.db.prepare('SELECT * FROM networks ORDER BY name').all().map(toNetwork);
  }

  get(name: string): NetworkRecord | undefined {
    const row = this.db.prepare('SELECT * FROM networks WHERE name = ?').get(name);
    return row === undefined ? undefined : toNetwork(row);
  }

  put(n: NetworkRecord): void {
    const { active, bootId, changes, created, ...definition } = n;
    this.db
      // An upsert, not a REPLACE: replacing the row would delete its ports (ON DELETE CASCADE).
      .prepare(
        `INSERT INTO networks (name, definition, active, boot_id, changes, created) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, active = excluded.active, boot_id = excluded.boot_id, changes = excluded.changes`,
      )
      .run(n.name, JSON.stringify(definition), active ? 1 : 0, bootId, changes ? JSON.stringify(changes) : null, created);
  }

  delete(name: string): void {
    this.db.prepare('DELETE FROM networks WHERE name = ?').run(name);
  }
}

/** Ports of all networks. */
export class PortRepository {
  constructor(private readonly db: Database.Database) {}

  list(network?: string): PortRecord[] {
    const rows = network === undefined
      ? this.db.prepare('SELECT * FROM ports ORDER BY network, name').all()
      : this.db.prepare('SELECT * FROM ports WHERE network = ? ORDER BY name').all(network);
    return rows.map((row) => {
      const r = decodeRow(PortRow, row, 'a port');
      return { ...decodeJson(Port, r.definition, `port ${r.network}/${r.name}`), created: r.created };
    });
  }

  put(p: PortRecord): void {
    const { created, ...definition } = p;
    this.db
      .prepare('INSERT OR REPLACE INTO ports (network, name, ifname, definition, created) VALUES (?, ?, ?, ?, ?)')
      .run(p.network, p.name, p.ifname, JSON.stringify(definition), created);
  }

  delete(network: string, name: string): void {
    this.db.prepare('DELETE FROM ports WHERE network = ? AND name = ?').run(network, name);
  }
}

function toNetwork(row: unknown): NetworkRecord {
  const r = decodeRow(NetworkRow, row, 'a network');
  const what = `network ${r.name}`;
  return {
    ...decodeJson(Definition, r.definition, what),
    active: r.active === 1,
    bootId: r.boot_id,
    changes: r.changes ? decodeJson(Changes, r.changes, what) : null,
    created: r.created,
  };
}
