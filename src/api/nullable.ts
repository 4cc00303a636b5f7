import { Type, type TSchema } from 'typebox';

/** A field that is always present in answers, null when it has no value. */
export const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** `o` with each of `keys` present, null where it had no value: fields scripts may rely on. */
export function withNulls<T extends object>(o: T, keys: readonly string[]): T {
  const out = { ...o } as Record<string, unknown>;
  for (const k of keys) out[k] ??= null;
  return out as T;
}
