
import { KvmpoolError } from '../model/errors.js';
import { SparseDecoder } from '../model/sparse-stream.js';
import { ContentHash } from './hash.js';
import { abortable } from './abortable.js';

/** Where a sparse stream is written: a file (FileWriter), or storage a driver writes (an RBD image). */
export interface SparseTarget {
  write(offset: number, data: Buffer): Promise<void>;
  /** Hands on what was gathered (before a hole is left, and at the end). */
  flush(): Promise<void>;
}

/** What to do with holes: leave them (`skip`, the file is new and sparse) or write zeros (`zero`). */
export type HoleMode = 'skip' | 'zero';

const WRITE_CHUNK = 4 * 1024 * 1024;
const ZEROS = Buffer.alloc(WRITE_CHUNK);

/** Writes `length` zero bytes at `offset`. */
export async function writeZeros(out: SparseTarget, offset: number, length: number): Promise<void> {
  for (let done = 0; done < length; done += WRITE_CHUNK) await out.write(offset + done, ZEROS.subarray(0, Math.min(WRITE_CHUNK, length - done)));
}

/** What a sparse stream wrote. */
export interface WriteResult {
  /** Where the content ended (the end frame's offset). */
  end: number;
  /** sha256 of the content written (holes as zeros), when hashed; it matched the sender's, if sent. */
  sha256?: string;
  /** The sender's sha256 (from the end frame), if it sent one. */
  sent?: string;
  /** Bytes of data written (holes excluded). */
  dataBytes: number;
  /** The holes left unwritten (mode `skip`), merged and in order, when `recordHoles` asked for them. */
  holes: { offset: number; length: number }[];
}

/**
 * Writes a sparse stream into an open file (or a driver's writer): data at its offsets (coalesced into large writes),
 * holes per `holes`. Unless `hash` is false the content's sha256 is computed on the way, and must
 * equal the end frame's when the sender sent one; `limit` bounds the end offset (a volume's
 * capacity). Does not truncate or sync.
 */
export async function writeSparse(
  out: SparseTarget,
  source: AsyncIterable<Buffer>,
  options: {
    start: number;
    holes: HoleMode;
    /** Lists the holes left unwritten in the result (one entry per hole: only where they are needed). */
    recordHoles?: boolean;
    hash?: boolean;
    limit?: number;
    signal?: AbortSignal;
    onProgress?: (done: number) => void;
    /** Sees the first data piece before anything is written (to check what the content is). */
    inspect?: (offset: number, data: Buffer) => void;
  },
): Promise<WriteResult> {
  const decoder = new SparseDecoder(options.start);
  const hash = options.hash === false ? undefined : new ContentHash();
  let dataBytes = 0;
  const holes: WriteResult['holes'] = [];
  let result: WriteResult | undefined;
  const bound = (to: number) => {
    if (options.limit !== undefined && to > options.limit) {
      throw new KvmpoolError('INVALID_ARGUMENT', `the upload reaches byte ${to}, past the volume's capacity of ${options.limit} bytes (pass --grow to grow it)`, { end: to, capacity: options.limit });
    }
  };
  const chunks = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      // A cancel ends the wait for the next chunk too: a sender that stopped sending cannot hold us.
      const next = await abortable(chunks.next(), options.signal, () => new KvmpoolError('CANCELLED', 'cancelled'));
      if (next.done) break;
      const chunk = next.value;
      for (const f of decoder.push(chunk)) {
        if (f.type === 'data') {
          bound(f.offset + f.data.length);
          if (dataBytes === 0) options.inspect?.(f.offset, f.data);
          await hash?.data(f.data);
          dataBytes += f.data.length;
          await out.write(f.offset, f.data);
          options.onProgress?.(f.offset + f.data.length - options.start);
        } else if (f.type === 'hole') {
          bound(f.offset + f.length);
          hash?.zeros(f.length);
          if (options.holes === 'zero') {
            await writeZeros(out, f.offset, f.length);
          } else {
            await out.flush();
            const last = options.recordHoles ? holes.at(-1) : undefined;
            if (last && last.offset + last.length === f.offset) last.length += f.length;
            else if (options.recordHoles) holes.push({ offset: f.offset, length: f.length });
          }
          options.onProgress?.(f.offset + f.length - options.start);
        } else {
          await out.flush();
          const sha256 = await hash?.hex();
          if (sha256 !== undefined && f.sha256 !== undefined && sha256 !== f.sha256) {
            throw new KvmpoolError('CHECKSUM_MISMATCH', `the content's sha256 is ${sha256}, the sender's is ${f.sha256}`, { received: sha256, sent: f.sha256 });
          }
          result = { end: f.size, dataBytes, holes, ...(sha256 !== undefined ? { sha256 } : {}), ...(f.sha256 !== undefined ? { sent: f.sha256 } : {}) };
        }
      }
    }
    decoder.finish();
  } catch (e) {
    if (!result) await hash?.close();
    void chunks.return?.();
    throw e;
  }
  return result!;
}


