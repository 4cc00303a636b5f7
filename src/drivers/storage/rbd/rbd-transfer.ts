import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { randomFillSync } from 'node:crypto';
import { KvmpoolError } from '../../../model/errors.js';
import { SparseDecoder, dataHeader, endFrame, holeFrame, splitZeroRuns } from '../../../model/sparse-stream.js';
import type { VolumeFacts, WipeAlgorithm } from '../../../model/volume-types.js';
import { observedElsewhere } from '../../../model/ignore.js';
import { DiffDecoder, diffData, diffEnd, diffStart } from '../../../host/rbd-diff.js';
import { LONG_CALL_MS, imageSpec, rbd, rbdJson, unlessGone, type RbdPlace } from '../../../host/rbd.js';
import { ContentHash } from '../../../transfer/hash.js';
import type { Extent } from '../../../transfer/sparse-reader.js';
import type { OpContext, StageWriter, WriterStage } from '../driver.js';
import { OLD_SUFFIX, STAGE_SUFFIX, removeImage } from './rbd-images.js';
import { placeOf, type Def } from './rbd-place.js';

/**
 * Transfers of RBD images without a block device: a download reads the image's data only, from
 * `rbd export-diff` (the allocated extents, as the object map knows them); an upload is written as a
 * diff stream of its data into `rbd import-diff`, so zeros and holes are never sent to the cluster.
 */


/** Where the image holds data (`rbd diff`, from its object map), the rest reading as zeros. */
export async function imageExtents(def: Def, vol: VolumeFacts): Promise<Extent[]> {
  const p = placeOf(def);
  const used = (await rbdJson<{ offset: number; length: number; exists: string }[]>(p, ['diff', imageSpec(p, vol.name)], `image ${vol.name}`)) ?? [];
  const out: Extent[] = [];
  let at = 0;
  for (const u of used.filter((x) => x.exists === 'true').sort((a, b) => a.offset - b.offset)) {
    if (u.offset > at) out.push({ start: at, length: u.offset - at, data: false });
    out.push({ start: u.offset, length: u.length, data: true });
    at = u.offset + u.length;
  }
  if (at < vol.capacity) out.push({ start: at, length: vol.capacity - at, data: false });
  return out;
}

/**
 * Reads `[offset, offset + length)` of an image as sparse-stream frames (model/sparse-stream.ts):
 * only the data `rbd export-diff` sends is looked at, and its zero blocks go as holes too. Ends with
 * the end frame and the content's sha256 unless `hash` is false.
 */
export async function* readImage(def: Def, vol: VolumeFacts, offset: number, length: number, options: { hash?: boolean; signal?: AbortSignal; onProgress?: (done: number) => void } = {}): AsyncGenerator<Buffer> {
  const p = placeOf(def);
  const end = offset + length;
  const hash = options.hash === false ? undefined : new ContentHash();
  let stdout: Readable | undefined;
  const exited = rbd(p, ['export-diff', '--no-progress', imageSpec(p, vol.name), '-'], `image ${vol.name}`, { signal: options.signal, timeoutMs: LONG_CALL_MS, stream: (io) => (stdout = io.stdout) });
  exited.catch(observedElsewhere);
  let next = offset;
  let pendingHole = 0;
  const hole = (to: number) => {
    hash?.zeros(to - next);
    pendingHole += to - next;
    next = to;
  };
  const flushHole = () => {
    const frame = holeFrame(next - pendingHole, pendingHole);
    pendingHole = 0;
    return frame;
  };
  let ok = false;
  try {
    // Not started (cancelled before): the command's own answer.
    if (!stdout) await exited;
    const decoder = new DiffDecoder();
    for await (const chunk of stdout!) {
      for (const r of decoder.push(chunk as Buffer)) {
        if (r.type !== 'data') continue;
        // Only what lies in the range, in order (export-diff sends the image front to back).
        const from = Math.max(r.offset, offset);
        const to = Math.min(r.offset + r.data.length, end);
        if (to <= from) continue;
        if (from < next) throw new KvmpoolError('HOST_COMMAND_FAILED', `rbd export-diff sent ${vol.name} out of order`);
        if (options.signal?.aborted) throw new KvmpoolError('CANCELLED', 'cancelled');
        if (from > next) hole(from);
        const piece = r.data.subarray(from - r.offset, to - r.offset);
        for (const run of splitZeroRuns(piece, from)) {
          if (run.zero) {
            hole(run.offset + run.length);
            continue;
          }
          if (pendingHole > 0) yield flushHole();
          const data = piece.subarray(run.offset - from, run.offset - from + run.length);
          await hash?.data(data);
          yield dataHeader(run.offset, run.length);
          yield data;
          next = run.offset + run.length;
        }
        options.onProgress?.(next - offset);
      }
    }
    // rbd's own failure (classified: NOT_FOUND, UNAVAILABLE, CANCELLED...) before what its output lacks.
    await exited;
    decoder.finish();
    if (next < end) hole(end);
    if (pendingHole > 0) yield flushHole();
    options.onProgress?.(length);
    yield endFrame(end, await hash?.hex());
    ok = true;
  } finally {
    if (!ok) {
      await hash?.close();
      stdout?.destroy();
    }
  }
}

/** Largest data record written at once (pieces are gathered up to this). */
const RECORD = 4 * 1024 * 1024;
/** Record buffers per writer: one being gathered while the others are still being written into the pipe. */
const RECORDS = 3;

/**
 * Writes data into an image through `rbd import-diff`: each contiguous run of writes becomes one
 * data record, gathered (copied: the caller may reuse its buffers) into one of a few record buffers
 * of RECORD bytes that are used again once the pipe has taken them (a fresh buffer per record cost
 * more in allocation and collection than the copy). Holes are not written, so the image must read as
 * zeros there already (a new image does).
 */
export class RbdImageWriter implements StageWriter {
  private record: Buffer | undefined;
  private gatheredAt = 0;
  private gatheredBytes = 0;
  /** Record buffers the pipe has taken (free to fill), and how many exist. */
  private readonly spare: Buffer[] = [];
  private allocated = 0;
  private returned: (() => void) | undefined;

  private constructor(
    private readonly stdin: Writable,
    private readonly exited: Promise<unknown>,
    private readonly size: number,
  ) {}

  /** Starts `rbd import-diff` into `image` (of `size` bytes); `signal` stops it. */
  static async open(p: RbdPlace, image: string, size: number, signal?: AbortSignal): Promise<RbdImageWriter> {
    let stdin: Writable | undefined;
    const exited = rbd(p, ['import-diff', '--no-progress', '-', imageSpec(p, image)], `image ${image}`, {
      signal,
      timeoutMs: LONG_CALL_MS,
      stream: (io) => {
        stdin = io.stdin;
        io.stdout.resume();
      },
    });
    exited.catch(observedElsewhere);
    // Not started (cancelled before): the command's own answer.
    if (!stdin) await exited;
    // Once rbd has ended, a write waiting for room in the pipe is woken (by the error) rather than left waiting.
    const input = stdin!;
    void exited.then(
      () => input.destroy(new Error('rbd import-diff ended')),
      () => input.destroy(new Error('rbd import-diff failed')),
    );
    const w = new RbdImageWriter(input, exited, size);
    input.on('close', () => w.returned?.());
    await w.send(diffStart(size));
    return w;
  }

  async write(offset: number, data: Buffer): Promise<void> {
    if (offset + data.length > this.size) throw new KvmpoolError('INVALID_ARGUMENT', `the upload reaches byte ${offset + data.length}, past the image's ${this.size} bytes (resize it first)`, { end: offset + data.length, capacity: this.size });
    for (let pos = 0; pos < data.length; ) {
      if (this.gatheredBytes > 0 && (offset + pos !== this.gatheredAt + this.gatheredBytes || this.gatheredBytes === RECORD)) await this.flush();
      if (!this.record) {
        this.record = await this.freeRecord();
        this.gatheredAt = offset + pos;
      }
      const n = data.copy(this.record, this.gatheredBytes, pos, Math.min(data.length, pos + RECORD - this.gatheredBytes));
      this.gatheredBytes += n;
      pos += n;
    }
  }

  async flush(): Promise<void> {
    const record = this.record;
    if (!record || this.gatheredBytes === 0) return;
    const bytes = this.gatheredBytes;
    this.record = undefined;
    this.gatheredBytes = 0;
    await this.send(diffData(this.gatheredAt, bytes));
    // The buffer is filled again only once the pipe has taken all of it (or the stream failed).
    await this.send(record.subarray(0, bytes), () => {
      this.spare.push(record);
      const wake = this.returned;
      this.returned = undefined;
      wake?.();
    });
  }

  /** Ends the stream and waits for rbd to apply it (its failure, classified, is thrown here). */
  async close(): Promise<void> {
    await this.flush();
    await this.send(diffEnd());
    this.stdin.end();
    await this.exited;
  }

  /** Stops rbd without ending the stream (what it wrote stays: the caller removes the image). */
  async abort(): Promise<void> {
    this.stdin.destroy();
    await this.exited.catch(observedElsewhere);
  }

  /** A record buffer to fill: a spare one, a new one while there are fewer than RECORDS, else the next the pipe gives back. */
  private async freeRecord(): Promise<Buffer> {
    for (;;) {
      const spare = this.spare.pop();
      if (spare) return spare;
      if (this.allocated < RECORDS) {
        this.allocated++;
        return Buffer.allocUnsafe(RECORD);
      }
      if (this.stdin.destroyed) await this.send(Buffer.alloc(0)); // throws rbd's own failure
      await new Promise<void>((r) => (this.returned = r));
    }
  }

  /** Writes to rbd, waiting while its pipe is full; a failed rbd fails the write with its own (classified) error. */
  private async send(b: Buffer, written?: () => void): Promise<void> {
    try {
      if (this.stdin.destroyed || this.stdin.writableEnded) throw new Error('closed');
      if (!this.stdin.write(b, written)) await once(this.stdin, 'drain');
    } catch {
      await this.exited;
      throw new KvmpoolError('HOST_COMMAND_FAILED', 'rbd import-diff ended before the end of its input');
    }
  }
}

/**
 * Where a whole upload goes: a new image beside the volume, of its size, written through
 * `rbd import-diff` (commitUpload swaps it in). A stage an earlier upload left is removed when it is in the way.
 */
export async function stageUpload(def: Def, vol: VolumeFacts, make: (name: string, capacity: number) => Promise<unknown>): Promise<WriterStage> {
  const p = placeOf(def);
  const name = `${vol.name}${STAGE_SUFFIX}`;
  // A stage an earlier upload left (names with the suffix are kvmpool's own) is removed only when it
  // is there: looking first would cost a call on every upload.
  await retryWhenTaken(() => make(name, vol.capacity), () => removeImage(p, name));
  return { open: (signal) => RbdImageWriter.open(p, name, vol.capacity, signal) };
}

/**
 * Makes a fully written stage the volume: the volume is renamed away, the stage takes its name, and
 * the old image goes (its snapshots and clones would have kept it: their states withhold an upload).
 */
export async function commitUpload(def: Def, vol: VolumeFacts, end: number, log: (m: string) => void): Promise<void> {
  if (end > vol.capacity) throw new KvmpoolError('INVALID_ARGUMENT', `the upload is ${end} bytes, larger than ${vol.name} (${vol.capacity}): resize it first`, { end, capacity: vol.capacity });
  const p = placeOf(def);
  const old = `${vol.name}${OLD_SUFFIX}`;
  // One an earlier upload could not remove goes first (names with the suffix are kvmpool's own).
  await retryWhenTaken(
    () => rbd(p, ['rename', imageSpec(p, vol.name), imageSpec(p, old)], `image ${vol.name}`),
    () => removeImage(p, old),
  );
  try {
    await rbd(p, ['rename', imageSpec(p, `${vol.name}${STAGE_SUFFIX}`), imageSpec(p, vol.name)], `image ${vol.name}`);
  } catch (e) {
    await rbd(p, ['rename', imageSpec(p, old), imageSpec(p, vol.name)], `image ${vol.name}`).catch((x: unknown) => log(`upload of ${vol.name}: could not rename ${old} back: ${String(x)}`));
    throw e;
  }
  await removeImage(p, old).catch((e: unknown) => log(`upload of ${vol.name}: the image it replaced (${old}) could not be removed: ${String(e)}`));
}

/** Runs `step`; when its name was taken (ALREADY_EXISTS), runs `clear` (which may find it gone) and `step` once more. */
async function retryWhenTaken(step: () => Promise<unknown>, clear: () => Promise<unknown>): Promise<void> {
  try {
    await step();
  } catch (e) {
    if (!(e instanceof KvmpoolError && e.code === 'ALREADY_EXISTS')) throw e;
    await clear().catch(unlessGone(''));
    await step();
  }
}

/** Removes an upload's stage (failed or cancelled). */
export async function discardUpload(def: Def, vol: VolumeFacts): Promise<void> {
  await removeImage(placeOf(def), `${vol.name}${STAGE_SUFFIX}`).catch(unlessGone(''));
}

/**
 * Wipes an image: `zero` and `discard` shrink it to nothing and grow it back (every object is freed,
 * and a clone no longer reads its parent); `random` writes random bytes over all of it. `verify` reads
 * it back (only its data, through export-diff).
 */
export async function wipeImage(def: Def, vol: VolumeFacts, algorithm: WipeAlgorithm, verify: boolean, ctx: OpContext): Promise<void> {
  const p = placeOf(def);
  const size = vol.capacity;
  const total = verify ? size * 2 : size;
  let written: string | undefined;
  if (algorithm === 'random') {
    const out = await RbdImageWriter.open(p, vol.name, size, ctx.signal);
    const hash = new ContentHash();
    try {
      for (let at = 0; at < size; at += RECORD) {
        const piece = randomFillSync(Buffer.allocUnsafe(Math.min(RECORD, size - at)));
        await hash.data(piece);
        await out.write(at, piece);
        ctx.progress(at + piece.length, total);
      }
      await out.close();
      written = await hash.hex();
    } catch (e) {
      await hash.close();
      await out.abort();
      throw e;
    }
  } else {
    const resize = (to: number, signal?: AbortSignal) => rbd(p, ['resize', '--no-progress', '--allow-shrink', '--size', `${to}B`, imageSpec(p, vol.name)], `image ${vol.name}`, { timeoutMs: LONG_CALL_MS, ...(signal ? { signal } : {}) });
    try {
      await resize(0, ctx.signal);
    } finally {
      // Whatever became of the shrink (cancelled, failed), the volume keeps its size.
      await resize(size);
    }
  }
  if (verify) {
    let sha256: string | undefined;
    let data = false;
    const decoder = new SparseDecoder();
    for await (const frame of readImage(def, vol, 0, size, { signal: ctx.signal, onProgress: (d) => ctx.progress(size + d, total) })) {
      for (const f of decoder.push(frame)) {
        if (f.type === 'data') data = true;
        else if (f.type === 'end') sha256 = f.sha256;
      }
    }
    if (algorithm === 'random' ? sha256 !== written : data) throw new KvmpoolError('HOST_COMMAND_FAILED', `wipe of ${vol.name} did not verify`, { volume: vol.name });
  }
  ctx.progress(total, total);
}
