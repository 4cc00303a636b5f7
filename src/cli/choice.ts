import { errors } from '../model/errors.js';

/** `value` when it is one of `values` (narrowed to their type); INVALID_ARGUMENT naming them otherwise. */
export function choice<T extends string>(values: readonly T[], value: string, what: string): T {
  const found = values.find((v) => v === value);
  if (found === undefined) throw errors.invalid(`unknown ${what} '${value}': expected ${values.join(', ')}`, { [what]: value });
  return found;
}
