import { Compile } from 'typebox/compile';
import { Type, type TSchema } from 'typebox';
import { KvmpoolError, errors } from '../../model/errors.js';
import { validateName } from '../../model/names.js';
import { isInside } from '../../model/paths.js';
import type { PoolDefinition, PoolSource } from '../../model/pool-types.js';
import type { AnyStorageType, PoolResources } from '../../drivers/storage/driver.js';
import type { PoolRecord } from '../../state/store.js';
import type { ServiceContext } from '../context.js';

/** What `define` accepts: a type, and the type's settings (secrets among them, as strings). */
export interface DefinePoolInput {
  name: string;
  type: string;
  /** Required for types whose target is a directory; others derive it (/dev/VG, /dev). */
  target?: string;
  autostart?: boolean;
  source?: object;
}

const checkers = new WeakMap<TSchema, ReturnType<typeof Compile>>();

/** INVALID_ARGUMENT unless `value` matches `schema`, naming the first problem. */
export function checkSettings(schema: TSchema, value: unknown, what: string): void {
  let check = checkers.get(schema);
  if (!check) checkers.set(schema, (check = Compile(schema)));
  if (check.Check(value)) return;
  const first = check.Errors(value)[0];
  const where = first?.instancePath ? first.instancePath.slice(1).replace(/\//g, '.') : '';
  throw errors.invalid(`invalid ${what}: ${where ? `${where} ` : ''}${first?.message ?? 'bad value'}`, { where });
}

/**
 * A new pool's definition from the user's input: the name, the type, the settings checked against the
 * type's schema, its secrets split off (they never enter the store), then the driver's own checks.
 */
export async function newDefinition(ctx: ServiceContext, input: DefinePoolInput): Promise<{ def: PoolDefinition; type: AnyStorageType; secrets: Record<string, string> }> {
  const name = validateName('pool', input.name);
  const type = ctx.storageTypes.get(input.type);
  const given = input.source ?? {};
  checkSettings(type.source, given, `settings of a ${type.name} pool`);
  const secrets: Record<string, string> = {};
  const source: PoolSource = {};
  const isSecret = (k: string) => type.secrets.includes(k);
  for (const [k, v] of Object.entries(given)) {
    if (!isSecret(k)) source[k] = v;
    else if (typeof v === 'string' && v.length > 0) secrets[k] = v;
    else throw errors.invalid(`secret ${k} must be a non-empty string`, { field: k });
  }
  // The driver sees where its secrets will be; they are written once the definition is accepted.
  const def: PoolDefinition = await type.driver.validate({
    name,
    type: type.name,
    target: input.target ?? '',
    autostart: input.autostart ?? false,
    source,
    secrets: ctx.secrets.files('pools', name, Object.keys(secrets)),
  });
  return { def, type, secrets };
}

const storedSettings = new WeakMap<AnyStorageType, TSchema>();

/** A type's settings as the store keeps them: without the secrets (kept apart). */
function storedSchema(type: AnyStorageType): TSchema {
  let schema = storedSettings.get(type);
  if (!schema) storedSettings.set(type, (schema = type.secrets.length > 0 ? Type.Omit(type.source, [...type.secrets]) : type.source));
  return schema;
}

/**
 * The definition a driver gets from a stored record: its settings, checked again against the type's
 * schema (a record another build wrote, or one edited by hand, never reaches a driver unchecked), and
 * where its secrets are.
 */
export function definitionOf(ctx: ServiceContext, rec: PoolRecord): PoolDefinition {
  const type = ctx.storageTypes.get(rec.type);
  try {
    checkSettings(storedSchema(type), rec.source, `stored settings of pool ${rec.name}`);
  } catch (e) {
    throw new KvmpoolError('INTERNAL', e instanceof Error ? e.message : String(e), { pool: rec.name }, { cause: e });
  }
  return { name: rec.name, type: rec.type, target: rec.target, autostart: rec.autostart, source: rec.source, secrets: ctx.secrets.files('pools', rec.name, rec.secretFields) };
}

/** The storage a defined pool holds; a pool of a type this daemon lacks is taken to hold its target directory. */
function resourcesOf(ctx: ServiceContext, rec: PoolRecord): PoolResources {
  const type = ctx.storageTypes.find(rec.type);
  return type ? type.driver.resources(definitionOf(ctx, rec)) : { directories: [rec.target] };
}

/** The pool whose directories hold `path` (an absolute path with symlinks resolved), if any. */
export function poolHolding(ctx: ServiceContext, path: string): PoolRecord | undefined {
  return ctx.store.pools.list().find((p) => (resourcesOf(ctx, p).directories ?? []).some((d) => isInside(path, d)));
}

/** IN_USE when two pools would share storage: a device, a name, or nested directories. */
export function assertApart(ctx: ServiceContext, def: PoolDefinition, others: readonly PoolRecord[]): void {
  const mine = ctx.storageTypes.get(def.type).driver.resources(def);
  for (const other of others) {
    const theirs = resourcesOf(ctx, other);
    const dir = (mine.directories ?? []).find((d) => (theirs.directories ?? []).some((o) => isInside(o, d) || isInside(d, o)));
    if (dir) throw errors.inUse(`target ${dir} overlaps pool '${other.name}' (${other.target})`, { pool: other.name, target: other.target });
    const device = (mine.devices ?? []).find((d) => theirs.devices?.includes(d));
    if (device) throw errors.inUse(`device ${device} belongs to pool '${other.name}'`, { pool: other.name, device });
    const taken = (mine.names ?? []).find((n) => theirs.names?.includes(n));
    if (taken) throw errors.inUse(`${taken.replace(':', ' ')} belongs to pool '${other.name}'`, { pool: other.name, name: taken });
  }
}
