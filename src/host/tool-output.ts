import { KvmpoolError } from '../model/errors.js';

/**
 * Checked reading of what a tool printed, shared by the parsers of the tool modules: every reader
 * throws HOST_COMMAND_FAILED ("lvm printed malformed output (…)") instead of handing back
 * `undefined` or `NaN`.
 */

/** A JSON object as a tool printed it. */
export type JsonObject = Record<string, unknown>;

/** The error for output of `tool` that kvmpool cannot read; the start of the output goes into the details. */
export function malformed(tool: string, why: string, output: string, cause?: unknown): KvmpoolError {
  return new KvmpoolError('HOST_COMMAND_FAILED', `${tool} printed malformed output (${why})`, { tool, output: output.slice(0, 500) }, { cause });
}

/** Readers of one tool's output: each names the field it misses in the error. */
export interface OutputReader {
  /** The error for this output, with `why`. */
  fail(why: string, cause?: unknown): KvmpoolError;
  /** The output parsed as JSON. */
  json(): unknown;
  /** `value` as an object (`what` names it in the error). */
  object(value: unknown, what: string): JsonObject;
  /** `value` as an array. */
  array(value: unknown, what: string): unknown[];
  /** A string field. */
  string(o: JsonObject, key: string): string;
  /** A string field that may be missing or null (undefined then). */
  optString(o: JsonObject, key: string): string | undefined;
  /** A finite number field. */
  number(o: JsonObject, key: string): number;
  /** A finite number field that may be missing (undefined then). */
  optNumber(o: JsonObject, key: string): number | undefined;
  /** A field holding an array of strings, or undefined when it is missing. */
  optStrings(o: JsonObject, key: string): string[] | undefined;
  /** A decimal number printed as a string (`"33554432"`, `"3.12"`). */
  decimal(text: string, what: string): number;
}

/** Readers for `output`, printed by `tool`. */
export function outputOf(tool: string, output: string): OutputReader {
  const fail = (why: string, cause?: unknown) => malformed(tool, why, output, cause);
  const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
  return {
    fail,
    json() {
      try {
        return JSON.parse(output) as unknown;
      } catch (e) {
        throw fail('not JSON', e);
      }
    },
    object(value, what) {
      if (!isObject(value)) throw fail(`${what} is not an object`);
      return value;
    },
    array(value, what) {
      if (!Array.isArray(value)) throw fail(`${what} is not an array`);
      return value;
    },
    string(o, key) {
      const v = o[key];
      if (typeof v !== 'string') throw fail(v === undefined ? `no ${key}` : `${key} is not a string`);
      return v;
    },
    optString(o, key) {
      const v = o[key];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'string') throw fail(`${key} is not a string`);
      return v;
    },
    number(o, key) {
      const v = o[key];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw fail(v === undefined ? `no ${key}` : `${key} is not a number`);
      return v;
    },
    optNumber(o, key) {
      return o[key] === undefined ? undefined : this.number(o, key);
    },
    optStrings(o, key) {
      const v = o[key];
      if (v === undefined) return undefined;
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw fail(`${key} is not a list of strings`);
      return v as string[];
    },
    decimal(text, what) {
      if (!/^-?\d+(\.\d+)?$/.test(text)) throw fail(`${what} is not a number: '${text.slice(0, 40)}'`);
      return Number(text);
    },
  };
}
