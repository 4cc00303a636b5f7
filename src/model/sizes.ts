import { errors } from './errors.js';

const UNITS: Record<string, number> = { '': 0, K: 1, M: 2, G: 3, T: 4, P: 5, E: 6 };

/** Largest volume size accepted: 2^53 - 1 bytes fits a JS number exactly and is more than any pool holds. */
export const MAX_SIZE = Number.MAX_SAFE_INTEGER;

/**
 * Parses a size in bytes: plain bytes (`1048576`) or a number with a binary unit
 * (`512M`, `10G`, `1.5T`; `K/M/G/T/P/E`, optionally followed by `iB` or `B`). Units are powers of 1024.
 */
export function parseSize(input: string | number): number {
  if (typeof input === 'number') return checkSize(input, String(input));
  const text = input.trim();
  const m = /^(\d+(?:\.\d+)?)\s*([KMGTPE]?)(?:i?B)?$/i.exec(text);
  if (!m) throw errors.invalid(`invalid size '${input}': use bytes or a number with K, M, G, T, P or E (binary units)`, { size: input });
  const exp = UNITS[m[2]!.toUpperCase()]!;
  // A fraction of a unit rounds to whole bytes (1.1G); a fraction of a byte is a mistake.
  const bytes = exp === 0 ? Number(m[1]) : Math.round(Number(m[1]) * 1024 ** exp);
  return checkSize(bytes, input);
}

function checkSize(bytes: number, input: string): number {
  if (!Number.isFinite(bytes) || !Number.isInteger(bytes)) throw errors.invalid(`invalid size '${input}': not a whole number of bytes`, { size: input });
  if (bytes <= 0) throw errors.invalid(`invalid size '${input}': must be greater than zero`, { size: input });
  if (bytes > MAX_SIZE) throw errors.invalid(`invalid size '${input}': larger than the maximum of ${formatSize(MAX_SIZE)}`, { size: input });
  return bytes;
}

/** Rounds a byte count up to a multiple of `unit` (qemu-img works in 512-byte sectors). */
export function roundUp(bytes: number, unit = 512): number {
  return Math.ceil(bytes / unit) * unit;
}

/** Formats bytes for people: `10 GiB`, `1.5 TiB`, `512 B`. */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let value = bytes;
  let i = 0;
  while (Math.abs(value) >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  const text = i === 0 ? String(value) : value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
  return `${text} ${units[i]}`;
}
