import type Database from 'better-sqlite3';
import { Type } from 'typebox';
import { DISK_BUSES, VM_STATES, type VmDefinition, type VmState } from '../model/vm-types.js';
import { decodeJson, decodeRow } from './decode.js';

/** What kvmpool knows of a VM's qemu: enough to find it again after a daemon restart. */
export interface VmRuntime {
  state: VmState;
  reason?: string;
  pid?: number;
  bootId?: string;
  accelerator?: 'kvm' | 'tcg';
  started?: string;
}

/** A VM definition plus its last known run state. */
export interface VmRecord extends VmDefinition {
  runtime: VmRuntime;
  created: string;
}

const Definition = Type.Object({
  name: Type.String(),
  uuid: Type.String(),
  cpus: Type.Integer(),
  memory: Type.Number(),
  disks: Type.Array(Type.Object({ pool: Type.String(), volume: Type.String(), bus: Type.Enum(DISK_BUSES), readonly: Type.Boolean() })),
  nics: Type.Array(Type.Object({ network: Type.String(), port: Type.String() })),
  kernel: Type.Optional(Type.String()),
  initrd: Type.Optional(Type.String()),
  append: Type.Optional(Type.String()),
  boot: Type.Optional(Type.Enum(['disk', 'cdrom'] as const)),
  autostart: Type.Boolean(),
});
const Runtime = Type.Object({
  state: Type.Enum(VM_STATES),
  reason: Type.Optional(Type.String()),
  pid: Type.Optional(Type.Integer()),
  bootId: Type.Optional(Type.String()),
  accelerator: Type.Optional(Type.Enum(['kvm', 'tcg'] as const)),
  started: Type.Optional(Type.String()),
});

const VmRow = Type.Object({ name: Type.String(), definition: Type.String(), runtime: Type.String(), created: Type.String() });

/** VM definitions and their last known run state. */
export class VmRepository {
  constructor(private readonly db: Database.Database) {}

  list(): VmRecord[] {
    return this.db.prepare('SELECT * FROM vms ORDER BY name').all().map(toVm);
  }

  get(name: string): VmRecord | undefined {
    const row = this.db.prepare('SELECT * FROM vms WHERE name = ?').get(name);
    return row === undefined ? undefined : toVm(row);
  }

  put(v: VmRecord): void {
    const { runtime, created, ...definition } = v;
    this.db
      .prepare('INSERT OR REPLACE INTO vms (name, definition, runtime, created) VALUES (?, ?, ?, ?)')
      .run(v.name, JSON.stringify(definition), JSON.stringify(runtime), created);
  }

  delete(name: string): void {
    this.db.prepare('DELETE FROM vms WHERE name = ?').run(name);
  }
}

function toVm(row: unknown): VmRecord {
  const r = decodeRow(VmRow, row, 'a VM');
  const what = `vm ${r.name}`;
  return { ...decodeJson(Definition, r.definition, what), runtime: decodeJson(Runtime, r.runtime, what), created: r.created };
}
