import { dataHeader, endFrame, holeFrame, SparseDecoder, splitZeroRuns } from '../model/sparse-stream.js';

/** Turns plain bytes starting at `start` into sparse frames (zero runs become holes), ending with an end frame without checksum. */
export async function* denseToSparse(source: AsyncIterable<Buffer>, start: number): AsyncGenerator<Buffer> {
  let pos = start;
  for await (const chunk of source) {
    for (const run of splitZeroRuns(chunk, pos)) {
      if (run.zero) {
        yield holeFrame(run.offset, run.length);
      } else {
        yield dataHeader(run.offset, run.length);
        yield chunk.subarray(run.offset - pos, run.offset - pos + run.length);
      }
    }
    pos += chunk.length;
  }
  yield endFrame(pos);
}

const ZEROS = Buffer.alloc(1024 * 1024);

/** Turns sparse frames into plain bytes (holes as zeros); `onEnd` gets the end frame's sha256. */
export async function* sparseToDense(frames: AsyncIterable<Buffer>, start: number, onEnd: (sha256: string | undefined) => void): AsyncGenerator<Buffer> {
  const decoder = new SparseDecoder(start);
  for await (const chunk of frames) {
    for (const f of decoder.push(chunk)) {
      if (f.type === 'data') yield f.data;
      else if (f.type === 'hole') for (let left = f.length; left > 0; left -= ZEROS.length) yield ZEROS.subarray(0, Math.min(left, ZEROS.length));
      else onEnd(f.sha256);
    }
  }
  decoder.finish();
}
