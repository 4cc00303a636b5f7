import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { KvmpoolError } from '../model/errors.js';

const compiled = new WeakMap<TSchema, ReturnType<typeof Compile>>();

function checkerOf(schema: TSchema): ReturnType<typeof Compile> {
  let check = compiled.get(schema);
  if (!check) {
    check = Compile(schema);
    compiled.set(schema, check);
  }
  return check;
}

/** A row as SQLite gave it, checked against the columns it must have (`what` names the table). */
export function decodeRow<T extends TSchema>(schema: T, row: unknown, what: string): Static<T> {
  const check = checkerOf(schema);
  if (!check.Check(row)) {
    const first = check.Errors(row)[0];
    throw malformed(what, first ? `${first.instancePath || '/'} ${first.message}` : 'wrong shape');
  }
  return row as Static<T>;
}

/**
 * Parses a JSON column and checks it against its schema: a row the store cannot trust (edited by hand,
 * written by another version) is an error naming the row, never a value of the wrong shape.
 */
export function decodeJson<T extends TSchema>(schema: T, text: string, what: string): Static<T> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw malformed(what, 'not JSON', e);
  }
  const check = checkerOf(schema);
  if (!check.Check(value)) {
    const first = check.Errors(value)[0];
    throw malformed(what, first ? `${first.instancePath || '/'} ${first.message}` : 'wrong shape');
  }
  return value as Static<T>;
}

function malformed(what: string, why: string, cause?: unknown): KvmpoolError {
  return new KvmpoolError('INTERNAL', `the store's record of ${what} is malformed (${why})`, { record: what }, { cause });
}
