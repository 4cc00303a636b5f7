import { constants } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';

/** Alignment O_DIRECT needs of file offsets, lengths and memory. */
const BLOCK = 4096;
/** Size of the write buffer: data is gathered into writes this large. */
const BUFFER = 8 * 1024 * 1024;

/**
 * Finds a `size`-byte view of a fresh buffer whose memory is BLOCK-aligned, by trying 4 KiB O_DIRECT
 * writes at successive 16-byte shifts into `probe` (at offset 0). Quirk: Node cannot ask for aligned
 * memory, and its large buffers come from malloc, which aligns to 16 bytes; O_DIRECT refuses
 * misaligned memory with EINVAL, so the first shift it accepts is the aligned one.
 */
async function alignedBuffer(probe: FileHandle, size: number): Promise<Buffer | undefined> {
  const raw = Buffer.allocUnsafeSlow(size + BLOCK);
  raw.fill(0, 0, BLOCK * 2);
  for (let shift = 0; shift < BLOCK; shift += 16) {
    try {
      await probe.write(raw, shift, BLOCK, 0);
      return raw.subarray(shift, shift + size);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
    }
  }
  return undefined;
}

/**
 * Writes increasing ranges of a file through one large buffer, with O_DIRECT for the block-aligned
 * part where the file system allows it (on hosts where the page cache is slow, it writes several times
 * faster) and ordinary writes for the unaligned edges. Only data is written: the caller decides
 * what holes become. Call `close` in all cases.
 */
export class FileWriter {
  private at = 0;
  private length = 0;

  private constructor(
    readonly fh: FileHandle,
    private readonly direct: FileHandle | undefined,
    private readonly buf: Buffer,
  ) {}

  /** Opens `path` (created and truncated when `create`). */
  static async open(path: string, create: boolean): Promise<FileWriter> {
    const fh = await open(path, create ? 'w' : 'r+', 0o600);
    const direct = await open(path, constants.O_WRONLY | constants.O_DIRECT).catch(() => undefined);
    const buf = direct ? await takeAligned(path).catch(() => undefined) : undefined;
    if (direct && buf) return new FileWriter(fh, direct, buf);
    await direct?.close();
    return new FileWriter(fh, undefined, Buffer.allocUnsafe(BUFFER));
  }

  /** Bytes of the file from `offset`; contiguous calls are gathered into large writes. */
  async write(offset: number, data: Buffer): Promise<void> {
    if (this.length > 0 && this.at + this.length !== offset) await this.flush();
    let pos = 0;
    while (pos < data.length) {
      if (this.length === 0) this.at = offset + pos;
      const base = this.at - (this.at % BLOCK);
      const index = this.at - base + this.length;
      const n = Math.min(data.length - pos, this.buf.length - index);
      data.copy(this.buf, index, pos, pos + n);
      this.length += n;
      pos += n;
      if (index + n === this.buf.length) await this.flush(true);
    }
  }

  /**
   * Writes what is gathered. With `keepTail`, a last partial block stays gathered (so the next
   * write continues it and the O_DIRECT part stays aligned).
   */
  async flush(keepTail = false): Promise<void> {
    if (this.length === 0) return;
    const base = this.at - (this.at % BLOCK);
    const end = this.at + this.length;
    const alignedStart = Math.ceil(this.at / BLOCK) * BLOCK;
    const alignedEnd = Math.floor(end / BLOCK) * BLOCK;
    const view = (from: number, to: number) => this.buf.subarray(from - base, to - base);
    if (!this.direct || alignedEnd <= alignedStart) {
      if (keepTail && this.direct) return;
      await this.fh.write(view(this.at, end), 0, end - this.at, this.at);
      this.length = 0;
      return;
    }
    if (alignedStart > this.at) await this.fh.write(view(this.at, alignedStart), 0, alignedStart - this.at, this.at);
    await this.direct.write(view(alignedStart, alignedEnd), 0, alignedEnd - alignedStart, alignedStart);
    if (alignedEnd === end) {
      this.length = 0;
    } else if (keepTail) {
      // Move the partial last block to the start of the buffer, at its place within the block.
      this.buf.copy(this.buf, 0, alignedEnd - base, end - base);
      this.at = alignedEnd;
      this.length = end - alignedEnd;
    } else {
      await this.fh.write(view(alignedEnd, end), 0, end - alignedEnd, alignedEnd);
      this.length = 0;
    }
  }

  /** Flushes, and makes the data durable. */
  async sync(): Promise<void> {
    await this.flush();
    await this.fh.sync();
  }

  async close(): Promise<void> {
    if (this.direct) spare.push(this.buf);
    await this.direct?.close();
    await this.fh.close();
  }
}

/** Aligned buffers of closed writers, for the next ones (alignment is found once per buffer). */
const spare: Buffer[] = [];

/** An aligned buffer: a spare one, or a new one probed on a scratch file next to `path`. */
async function takeAligned(path: string): Promise<Buffer | undefined> {
  const ready = spare.pop();
  if (ready) return ready;
  const probePath = `${path}.kvmpool-probe`;
  const probe = await open(probePath, constants.O_RDWR | constants.O_CREAT | constants.O_DIRECT, 0o600);
  try {
    return await alignedBuffer(probe, BUFFER);
  } finally {
    await probe.close();
    await rm(probePath, { force: true });
  }
}
