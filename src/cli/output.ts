import Table from 'cli-table3';
import { formatSize } from '../model/sizes.js';

/** Prints `value` as JSON for scripts. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints rows as a borderless table for people. */
export function printTable(head: string[], rows: (string | number)[][]): void {
  const table = new Table({
    head,
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const r of rows) table.push(r.map(String));
  process.stdout.write(`${table.toString()}\n`);
}

/** Prints `key: value` lines; numbers under size keys are shown in binary units with the exact bytes. */
export function printFields(fields: [string, unknown][]): void {
  const width = Math.max(...fields.map(([k]) => k.length));
  for (const [k, v] of fields) {
    if (v === undefined || v === null || v === '') continue;
    process.stdout.write(`${`${k}:`.padEnd(width + 2)}${Array.isArray(v) ? v.join(', ') : String(v)}\n`);
  }
}

/** `10 GiB (10737418240)` */
export function sizeWithBytes(bytes: number): string {
  return `${formatSize(bytes)} (${bytes})`;
}

export { formatSize };
