import { KvmpoolError } from '../model/errors.js';

/**
 * RBD's diff stream (`rbd export-diff IMAGE -`, `rbd import-diff - IMAGE`; format v1): the magic
 * `rbd diff v1\n`, then records, each a tag byte and little-endian fields:
 *   'f' / 't'  u32 length + name   the snapshot the diff starts from / ends at
 *   's'        u64 size            the image's size
 *   'w'        u64 offset, u64 length, then `length` bytes of data
 *   'z'        u64 offset, u64 length   a range that reads as zeros
 *   'e'                            the end
 * kvmpool reads it to download an image's data only, and writes it to upload only data.
 */
export const DIFF_MAGIC = Buffer.from('rbd diff v1\n');

/** A decoded record; a data record may arrive in pieces (`data` is one piece at `offset`). */
export type DiffRecord = { type: 'size'; size: number } | { type: 'data'; offset: number; data: Buffer } | { type: 'zero'; offset: number; length: number } | { type: 'end' };

const malformed = (why: string) => new KvmpoolError('HOST_COMMAND_FAILED', `rbd sent a diff stream kvmpool cannot read: ${why}`);

/** Decodes a diff stream from chunks as they arrive; data is passed on piece by piece, never held whole. */
export class DiffDecoder {
  private pending = Buffer.alloc(0);
  private magicSeen = false;
  private dataLeft = 0;
  private dataAt = 0;
  private ended = false;

  push(chunk: Buffer): DiffRecord[] {
    const out: DiffRecord[] = [];
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    const need = (n: number) => buf.length >= n;
    while (buf.length > 0) {
      if (this.ended) throw malformed('data after the end record');
      if (!this.magicSeen) {
        if (!need(DIFF_MAGIC.length)) break;
        if (!buf.subarray(0, DIFF_MAGIC.length).equals(DIFF_MAGIC)) throw malformed('no "rbd diff v1" header');
        this.magicSeen = true;
        buf = buf.subarray(DIFF_MAGIC.length);
        continue;
      }
      if (this.dataLeft > 0) {
        const n = Math.min(this.dataLeft, buf.length);
        out.push({ type: 'data', offset: this.dataAt, data: buf.subarray(0, n) });
        this.dataAt += n;
        this.dataLeft -= n;
        buf = buf.subarray(n);
        continue;
      }
      const tag = String.fromCharCode(buf[0]!);
      if (tag === 'e') {
        this.ended = true;
        out.push({ type: 'end' });
        buf = buf.subarray(1);
      } else if (tag === 'f' || tag === 't') {
        if (!need(5) || !need(5 + buf.readUInt32LE(1))) break;
        buf = buf.subarray(5 + buf.readUInt32LE(1));
      } else if (tag === 's') {
        if (!need(9)) break;
        out.push({ type: 'size', size: u64(buf, 1) });
        buf = buf.subarray(9);
      } else if (tag === 'w' || tag === 'z') {
        if (!need(17)) break;
        const offset = u64(buf, 1);
        const length = u64(buf, 9);
        buf = buf.subarray(17);
        if (tag === 'z') out.push({ type: 'zero', offset, length });
        else [this.dataAt, this.dataLeft] = [offset, length];
      } else {
        throw malformed(`unknown record '${tag}'`);
      }
    }
    this.pending = Buffer.from(buf);
    return out;
  }

  /** Throws unless the stream ended exactly at its end record. */
  finish(): void {
    if (!this.ended || this.pending.length > 0 || this.dataLeft > 0) throw malformed('it ended early');
  }
}

function u64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed('an offset out of range');
  return Number(v);
}

function record(tag: string, ...fields: number[]): Buffer {
  const b = Buffer.alloc(1 + 8 * fields.length);
  b.write(tag, 0, 'latin1');
  fields.forEach((f, i) => b.writeBigUInt64LE(BigInt(f), 1 + 8 * i));
  return b;
}

/** The start of a diff stream for an image of `size` bytes. */
export const diffStart = (size: number): Buffer => Buffer.concat([DIFF_MAGIC, record('s', size)]);
/** The header of a data record (`length` bytes follow). */
export const diffData = (offset: number, length: number): Buffer => record('w', offset, length);
/** The end record. */
export const diffEnd = (): Buffer => Buffer.from('e');
