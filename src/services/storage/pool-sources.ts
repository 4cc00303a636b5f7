import { errors } from '../../model/errors.js';
import type { FoundSource } from '../../drivers/storage/driver.js';
import type { ServiceContext } from '../context.js';
import { checkSettings } from './pool-definitions.js';

/** What a discovery is asked: the type, and its query fields (secrets among them, as strings). */
export interface FindSourcesInput {
  type: string;
  [field: string]: unknown;
}

/** A source found, with the type that found it. */
export interface FoundPoolSource extends FoundSource {
  type: string;
}

/**
 * Asks what storage of a type is there to define a pool on (`pool sources`). The query is checked
 * against the type's schema; its secrets are handed to the tools as 0600 files kept only for the request.
 */
export async function findPoolSources(ctx: ServiceContext, input: FindSourcesInput): Promise<FoundPoolSource[]> {
  const { type: typeName, ...query } = input;
  const type = ctx.storageTypes.get(typeName);
  if (!type.sources) throw errors.notSupported(`pools of type ${type.name} have no discovery: give their settings to 'pool define'`, { type: type.name });
  const discovery = type.sources;
  checkSettings(discovery.query, query, `search for ${type.name} sources`);
  const plain: Record<string, unknown> = {};
  const secret: Record<string, string> = {};
  for (const [k, v] of Object.entries(query)) {
    if (discovery.secrets.includes(k)) secret[k] = String(v);
    else plain[k] = v;
  }
  const { files, remove } = await ctx.secrets.transient(secret);
  try {
    const op = { signal: new AbortController().signal, log: (m: string) => ctx.log(`${type.name} sources: ${m}`), progress: () => {} };
    return (await discovery.find(plain, files, op)).map((f) => ({ type: type.name, ...f }));
  } finally {
    await remove();
  }
}
