import { Type, type TSchema } from 'typebox';

/** A field that is always present in answers, null when it has no value. */
export const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** `T` with each of `K` present, null where it has no value. */
export type WithNulls<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: Exclude<T[P], undefined> | null };

/** `o` with each of `keys` present, null where it had no value: fields scripts may rely on. */
export function withNulls<T extends object, K extends keyof T>(o: T, keys: readonly K[]): WithNulls<T, K> {
  const out = { ...o } as Record<PropertyKey, unknown>;
  for (const k of keys) out[k] ??= null;
  return out as WithNulls<T, K>;
}
