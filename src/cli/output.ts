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

/**
 * Prints rows as they come, in the look of printTable: column widths come from the head and the first
 * batch (a longer cell later only pushes its row's next columns). For listings too long to hold.
 */
export class TableStream {
  private widths?: number[];

  constructor(private readonly head: string[]) {}

  write(rows: (string | number)[][]): void {
    const cells = rows.map((r) => r.map(String));
    if (!this.widths) {
      this.widths = this.head.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
      this.line(this.head);
    }
    for (const r of cells) this.line(r);
  }

  /** Ends the table (a head alone when no rows came). */
  end(): void {
    if (!this.widths) this.write([]);
  }

  private line(cells: string[]): void {
    const w = this.widths!;
    process.stdout.write(`${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(w[i] ?? 0))).join('  ')}\n`);
  }
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
