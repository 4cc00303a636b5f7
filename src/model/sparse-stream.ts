import { KvmpoolError } from './errors.js';

/**
 * The sparse transfer format of uploads and downloads (content type `application/x-kvmpool-sparse`):
 * a sequence of frames, each a 17-byte header — type (1 byte), offset (u64 BE), length (u64 BE) —
 * in increasing, contiguous offsets:
 *   'D' data:  `length` bytes of content at `offset` follow the header
 *   'H' hole:  `length` bytes at `offset` read as zeros; nothing follows
 *   'E' end:   `offset` is where the content ends; `length` is 32 when the sha256 of the content
 *              from the first frame's offset to the end (holes as zeros) follows, 0 when the sender
 *              did not compute it
 * Holes are never sent, so a sparse volume moves only its data.
 */
export const SPARSE_CONTENT_TYPE = 'application/x-kvmpool-sparse';

export const FRAME_HEADER = 17;
const DATA = 0x44;
const HOLE = 0x48;
const END = 0x45;

/** A decoded frame; a data frame may arrive in several pieces (`data` is one piece at `offset`). */
export type Frame = { type: 'data'; offset: number; data: Buffer } | { type: 'hole'; offset: number; length: number } | { type: 'end'; size: number; sha256?: string };

function header(type: number, offset: number, length: number): Buffer {
  const h = Buffer.alloc(FRAME_HEADER);
  h.writeUInt8(type, 0);
  h.writeBigUInt64BE(BigInt(offset), 1);
  h.writeBigUInt64BE(BigInt(length), 9);
  return h;
}

/** Header of a data frame (its bytes follow). */
export const dataHeader = (offset: number, length: number) => header(DATA, offset, length);
/** A hole frame. */
export const holeFrame = (offset: number, length: number) => header(HOLE, offset, length);
/** The end frame, with the content's sha256 (hex) when the sender computed it. */
export function endFrame(size: number, sha256?: string): Buffer {
  return sha256 === undefined ? header(END, size, 0) : Buffer.concat([header(END, size, 32), Buffer.from(sha256, 'hex')]);
}

function malformed(why: string): KvmpoolError {
  return new KvmpoolError('INVALID_ARGUMENT', `malformed sparse stream: ${why}`);
}

/**
 * Decodes frames from chunks as they arrive. Data frames are passed on piece by piece (never buffered
 * whole); offsets must be contiguous from `start`, and nothing may follow the end frame.
 */
export class SparseDecoder {
  private pending = Buffer.alloc(0);
  private dataLeft = 0;
  private next: number;
  private ended = false;

  constructor(start = 0) {
    this.next = start;
  }

  /** Feeds a chunk; returns the frames (and data pieces) it completes. */
  push(chunk: Buffer): Frame[] {
    const out: Frame[] = [];
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (buf.length > 0) {
      if (this.ended) throw malformed('data after the end frame');
      if (this.dataLeft > 0) {
        const n = Math.min(this.dataLeft, buf.length);
        out.push({ type: 'data', offset: this.next, data: buf.subarray(0, n) });
        this.next += n;
        this.dataLeft -= n;
        buf = buf.subarray(n);
        continue;
      }
      if (buf.length < FRAME_HEADER) break;
      const type = buf.readUInt8(0);
      const offset = Number(buf.readBigUInt64BE(1));
      const length = Number(buf.readBigUInt64BE(9));
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) throw malformed('offset or length out of range');
      if (type === END) {
        if (length !== 32 && length !== 0) throw malformed(`end frame with ${length} bytes of checksum`);
        if (buf.length < FRAME_HEADER + length) break;
        if (offset !== this.next) throw malformed(`end frame at ${offset}, expected ${this.next}`);
        out.push(length === 32 ? { type: 'end', size: offset, sha256: buf.subarray(FRAME_HEADER, FRAME_HEADER + 32).toString('hex') } : { type: 'end', size: offset });
        this.ended = true;
        buf = buf.subarray(FRAME_HEADER + length);
        continue;
      }
      if (offset !== this.next) throw malformed(`frame at ${offset}, expected ${this.next}`);
      if (type === HOLE) {
        out.push({ type: 'hole', offset, length });
        this.next += length;
      } else if (type === DATA) {
        this.dataLeft = length;
      } else {
        throw malformed(`unknown frame type 0x${type.toString(16)}`);
      }
      buf = buf.subarray(FRAME_HEADER);
    }
    if (buf.length > 0) this.pending = Buffer.from(buf);
    return out;
  }

  /** Checks that the stream ended properly (an end frame, nothing cut off). */
  finish(): void {
    if (!this.ended || this.dataLeft > 0 || this.pending.length > 0) throw malformed('the stream ended before its end frame');
  }
}

/** Block size of zero detection: runs of all-zero blocks are sent as holes. */
export const ZERO_BLOCK = 64 * 1024;
const ZEROS = Buffer.alloc(ZERO_BLOCK);

/** Splits a chunk at `offset` into data and zero runs at ZERO_BLOCK granularity. */
export function splitZeroRuns(chunk: Buffer, offset: number): { offset: number; length: number; zero: boolean }[] {
  const runs: { offset: number; length: number; zero: boolean }[] = [];
  for (let pos = 0; pos < chunk.length; pos += ZERO_BLOCK) {
    const n = Math.min(ZERO_BLOCK, chunk.length - pos);
    const zero = chunk.subarray(pos, pos + n).equals(n === ZERO_BLOCK ? ZEROS : ZEROS.subarray(0, n));
    const last = runs.at(-1);
    if (last && last.zero === zero) last.length += n;
    else runs.push({ offset: offset + pos, length: n, zero });
  }
  return runs;
}
