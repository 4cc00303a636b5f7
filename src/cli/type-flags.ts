import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { errors } from '../model/errors.js';
import type { StorageTypeBody } from '../api/pool-schemas.js';

/** A JSON schema as the daemon sends it (the parts the CLI reads). */
interface FieldSchema {
  type?: string;
  description?: string;
  enum?: readonly unknown[];
  anyOf?: FieldSchema[];
  items?: FieldSchema;
}

/** What one flag fills in: a field of the settings (or volume options), read as its schema says. */
export interface TypeFlag {
  field: string;
  flag: string;
  kind: 'boolean' | 'integer' | 'list' | 'text' | 'secret';
  description: string;
}

/** The flags of a type's settings or volume options, from what the daemon says of the type. */
export function typeFlags(t: StorageTypeBody, part: 'source' | 'volumeOptions' | 'sourcesQuery'): TypeFlag[] {
  const schema = (t[part] ?? {}) as { properties?: Record<string, FieldSchema> };
  const secrets = part === 'source' ? t.secrets : part === 'sourcesQuery' ? t.sourcesSecrets : [];
  return Object.entries(schema.properties ?? {}).map(([field, s]) => {
    const secret = secrets.includes(field);
    const kind = secret ? 'secret' : s.type === 'boolean' ? 'boolean' : s.type === 'integer' ? 'integer' : s.type === 'array' ? 'list' : 'text';
    const choices = s.enum ? ` (${s.enum.join(', ')})` : '';
    return { field, flag: t.flags[part][field] ?? field, kind, description: `${s.description ?? field}${choices}${secret ? ': a file, or - for standard input' : ''}` };
  });
}

/**
 * Reads `args` (what the command's own options left) as the given flags: lists are comma-separated,
 * a secret is read from the file its flag names (`-`: standard input), never taken from the command
 * line itself. Unknown flags are INVALID_ARGUMENT, naming the ones the type has.
 */
export async function readTypeFlags(args: string[], flags: TypeFlag[], what: string): Promise<Record<string, unknown>> {
  // A list is given comma-separated, or by its flag again (--portal A --portal B).
  const options = Object.fromEntries(flags.map((f) => [f.flag, { type: f.kind === 'boolean' ? ('boolean' as const) : ('string' as const), multiple: f.kind === 'list' }]));
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }) as { values: Record<string, string | boolean | string[] | undefined> });
  } catch (e) {
    const known = flags.map((f) => `--${f.flag}`).join(', ') || 'none';
    throw errors.invalid(`${e instanceof Error ? e.message.replace(/\. To specify.*$/s, '') : String(e)} (${what} take: ${known})`);
  }
  const out: Record<string, unknown> = {};
  for (const f of flags) {
    const v = values[f.flag];
    if (v === undefined) continue;
    if (f.kind === 'boolean') out[f.field] = v === true;
    else if (f.kind === 'integer') out[f.field] = /^-?\d+$/.test(String(v)) ? Number(v) : Number.NaN;
    else if (f.kind === 'list') out[f.field] = [v].flat().flatMap((x) => String(x).split(',')).map((d) => d.trim()).filter((d) => d !== '');
    else if (f.kind === 'secret') out[f.field] = await readSecret(String(v), f.flag);
    else out[f.field] = String(v);
  }
  return out;
}

/** A secret from a file or standard input (`-`), without its trailing newline. */
async function readSecret(file: string, flag: string): Promise<string> {
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'ENOENT' ? errors.notFound('file', file) : errors.invalid(`--${flag} ${file}: ${e.message}`);
  });
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw errors.invalid(`--${flag}: the secret is empty`);
  return value;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
