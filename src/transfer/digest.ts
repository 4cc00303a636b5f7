import { SparseDecoder } from '../model/sparse-stream.js';
import { readSparse, type Extent } from './sparse-reader.js';

/** What reading a content through gave: its sha256 (holes as zeros), its bytes of data, where it ends. */
export interface Digest {
  sha256: string;
  dataBytes: number;
  end: number;
}

/**
 * The sha256 and data bytes of `[start, start + length)` of a file, read as a transfer would send it
 * (known holes and all-zero blocks are not data): for content that was shared rather than copied.
 */
export async function digestFile(path: string, start: number, length: number, o: { extents?: Extent[]; signal?: AbortSignal; onProgress?: (done: number) => void } = {}): Promise<Digest> {
  const decoder = new SparseDecoder(start);
  let dataBytes = 0;
  let sha256 = '';
  for await (const chunk of readSparse(path, start, length, { ...o, hash: true })) {
    for (const f of decoder.push(chunk)) {
      if (f.type === 'data') dataBytes += f.data.length;
      else if (f.type === 'end') sha256 = f.sha256 ?? '';
    }
  }
  decoder.finish();
  return { sha256, dataBytes, end: start + length };
}
