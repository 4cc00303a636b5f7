import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

/** Shared by the tool modules' unit tests: recorded tool output and golden argv files under src/host/testdata. */

/** A file of src/host/testdata, read from the checkout (the build copies no data into dist). */
export function recorded(name: string): string {
  return readFileSync(new URL(`../../../../src/host/testdata/${name}`, import.meta.url), 'utf8');
}

/** One row of a golden argv file: a builder, its arguments (null stands for undefined), and what it returns. */
interface GoldenRow {
  builder: string;
  input: unknown[];
  argv: unknown;
}

/**
 * Checks every row of the golden argv file `file` against the builders of `module`, and that every
 * `*Args` builder the module exports has a row.
 */
export function checkGoldenArgv(file: string, module: Record<string, unknown>): void {
  const rows = JSON.parse(recorded(file)) as GoldenRow[];
  for (const row of rows) {
    const builder = module[row.builder];
    assert.equal(typeof builder, 'function', `${file}: ${row.builder} is not a builder of the module`);
    const got = (builder as (...args: unknown[]) => unknown)(...row.input.map((v) => (v === null ? undefined : v)));
    assert.deepEqual(got, row.argv, `${file}: ${row.builder}(${JSON.stringify(row.input)})`);
    const argv = Array.isArray(got) ? got : (got as { args: unknown[] }).args;
    assert.ok(argv.every((a) => typeof a === 'string' && a !== ''), `${file}: ${row.builder} returns an argv of non-empty strings`);
  }
  const covered = new Set(rows.map((r) => r.builder));
  for (const name of Object.keys(module).filter((k) => k.endsWith('Args') && typeof module[k] === 'function')) {
    assert.ok(covered.has(name), `${file} has no row for ${name}`);
  }
}

/** Asserts that `parse` refuses `output` with HOST_COMMAND_FAILED, saying that `tool` printed malformed output. */
export function assertMalformed(tool: string, parse: (output: string) => unknown, output: string): void {
  assert.throws(
    () => parse(output),
    (e: { code?: string; message?: string }) => e.code === 'HOST_COMMAND_FAILED' && (e.message ?? '').startsWith(`${tool} printed malformed output (`),
    `${tool}: ${output.slice(0, 120)}`,
  );
}
