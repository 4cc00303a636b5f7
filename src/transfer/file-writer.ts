import { constants } from 'node:fs';
import { lstat, open, rm, type FileHandle } from 'node:fs/promises';
import { KvmpoolError } from '../model/errors.js';
import { alignedBuffer, BLOCK, CHUNK, openDirect, releaseAligned } from './aligned.js';
import { absent } from '../model/ignore.js';

function notRegular(path: string): KvmpoolError {
  return new KvmpoolError('INVALID_ARGUMENT', `${path} is not a regular file: refused`, { path });
}

/** How many O_DIRECT writes may be in flight: a disk with a deeper queue writes faster (about 1.5x at 3 than at 1). */
const WRITES_IN_FLIGHT = 3;

/** One of the buffers data is gathered in, and the write still running from it. */
interface Slot {
  buf: Buffer;
  busy: Promise<void>;
}

/**
 * Writes increasing ranges of a file through large buffers: one fills while the others are being
 * written (WRITES_IN_FLIGHT at once). The block-aligned part goes out with O_DIRECT where the file system allows it (on hosts
 * whose page cache is slow to fill, several times faster), the unaligned edges with ordinary writes.
 * Only data is written: the caller decides what holes become. Call `close` in all cases.
 */
export class FileWriter {
  /** File offset of the first byte gathered in the current slot, and how many are gathered. */
  private at = 0;
  private length = 0;
  private current = 0;
  private failure: unknown;
  private closed = false;

  private constructor(
    readonly fh: FileHandle,
    private readonly direct: FileHandle | undefined,
    private readonly slots: Slot[],
  ) {}

  /**
   * Refuses a target that is not a regular file (a device, a directory, a FIFO), before anything is
   * written or removed. With `create` a file or symlink there is replaced (never written through);
   * without, the path must be a regular file itself (not a symlink), or not exist yet.
   */
  static async checkTarget(path: string, create: boolean): Promise<void> {
    const there = await lstat(path).catch(absent);
    if (there && !there.isFile() && !(create && there.isSymbolicLink())) throw notRegular(path);
  }

  /**
   * Opens `path`; with `create` as a new file, replacing a file or symlink there (anything else is
   * refused, never removed). Without `create` it may be a block device (an LV being uploaded to),
   * unless `regularFile` asks for a regular file (a user's file): then a symlink is refused and the
   * type is checked on what was opened. Opens never wait (O_NONBLOCK: a FIFO put there meanwhile
   * cannot hang), and the O_DIRECT handle must be the same file.
   */
  static async open(path: string, create: boolean, options: { regularFile?: boolean } = {}): Promise<FileWriter> {
    if (create) {
      await FileWriter.checkTarget(path, true);
      await rm(path, { force: true });
    }
    const nofollow = create || options.regularFile ? constants.O_NOFOLLOW : 0;
    const fh = await open(path, create ? 'wx' : constants.O_RDWR | constants.O_NONBLOCK | nofollow, 0o600);
    const direct = await FileWriter.sameFile(fh, await openDirect(path, constants.O_WRONLY | constants.O_NONBLOCK | nofollow)).catch(async (e: unknown) => {
      await fh.close();
      throw e;
    });
    if (options.regularFile && !(await fh.stat()).isFile()) {
      await fh.close();
      await direct?.close();
      throw notRegular(path);
    }
    const bufs: (Buffer | undefined)[] = [];
    for (let i = 0; direct && i <= WRITES_IN_FLIGHT; i++) bufs.push(await alignedBuffer(path));
    if (direct && bufs.every((b) => b !== undefined)) return new FileWriter(fh, direct, bufs.map((buf) => ({ buf: buf!, busy: Promise.resolve() })));
    releaseAligned(...bufs);
    await direct?.close();
    return new FileWriter(fh, undefined, [{ buf: Buffer.allocUnsafe(CHUNK), busy: Promise.resolve() }]);
  }

  /** `other` when it is the file `fh` is (a path may be replaced between two opens); refused otherwise. */
  private static async sameFile(fh: FileHandle, other: FileHandle | undefined): Promise<FileHandle | undefined> {
    if (!other) return undefined;
    const [a, b] = await Promise.all([fh.stat(), other.stat()]);
    if (a.dev === b.dev && a.ino === b.ino) return other;
    await other.close();
    throw new KvmpoolError('INVALID_ARGUMENT', 'the file was replaced while it was being opened: refused');
  }

  /** Bytes of the file from `offset`; contiguous calls are gathered into large writes. */
  async write(offset: number, data: Buffer): Promise<void> {
    if (this.length > 0 && this.at + this.length !== offset) await this.flush();
    let pos = 0;
    while (pos < data.length) {
      if (this.length === 0) {
        this.at = offset + pos;
        await this.slot().busy;
      }
      const index = (this.at % BLOCK) + this.length;
      const n = Math.min(data.length - pos, CHUNK - index);
      data.copy(this.slot().buf, index, pos, pos + n);
      this.length += n;
      pos += n;
      if (index + n === CHUNK) await this.submit(true);
    }
  }

  /** Writes what is gathered and waits for every write. */
  async flush(): Promise<void> {
    await this.submit(false);
    await Promise.all(this.slots.map((s) => s.busy));
    if (this.failure) throw this.failure;
  }

  /**
   * Starts writing the current slot and moves to the next. With `keepTail` (the slot is full), a
   * last partial block is carried into the next slot, so O_DIRECT writes stay aligned.
   */
  private async submit(keepTail: boolean): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.length === 0) return;
    const slot = this.slot();
    const base = this.at - (this.at % BLOCK);
    const start = this.at;
    const end = this.at + this.length;
    const alignedStart = this.direct ? Math.ceil(start / BLOCK) * BLOCK : start;
    const alignedEnd = this.direct ? Math.floor(end / BLOCK) * BLOCK : end;
    const carry = keepTail && this.direct && alignedEnd > alignedStart ? end - alignedEnd : 0;
    const stop = end - carry;
    const view = (from: number, to: number) => slot.buf.subarray(from - base, to - base);
    const writes: Promise<unknown>[] = [];
    if (!this.direct || alignedEnd <= alignedStart) {
      writes.push(this.fh.write(view(start, stop), 0, stop - start, start));
    } else {
      if (alignedStart > start) writes.push(this.fh.write(view(start, alignedStart), 0, alignedStart - start, start));
      const direct = this.direct;
      // A device with 4 KiB sectors may refuse a buffer only 512-byte aligned: then write it normally.
      writes.push(
        direct.write(view(alignedStart, alignedEnd), 0, alignedEnd - alignedStart, alignedStart).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'EINVAL') throw e;
          return this.fh.write(view(alignedStart, alignedEnd), 0, alignedEnd - alignedStart, alignedStart);
        }),
      );
      if (stop > alignedEnd) writes.push(this.fh.write(view(alignedEnd, stop), 0, stop - alignedEnd, alignedEnd));
    }
    slot.busy = Promise.all(writes).then(
      () => undefined,
      (e: unknown) => void (this.failure ??= (e as NodeJS.ErrnoException).code === 'ENOSPC' ? new KvmpoolError('NO_SPACE', 'the file system is full') : e),
    );
    this.length = 0;
    if (this.slots.length > 1) this.current = (this.current + 1) % this.slots.length;
    else await slot.busy;
    if (carry > 0) {
      const next = this.slot();
      await next.busy;
      slot.buf.copy(next.buf, 0, stop - base, end - base);
      this.at = stop;
      this.length = carry;
    }
  }

  private slot(): Slot {
    return this.slots[this.current]!;
  }

  /** Flushes, and makes the data durable. */
  async sync(): Promise<void> {
    await this.flush();
    await this.fh.sync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.busy));
    if (this.direct) releaseAligned(...this.slots.map((s) => s.buf));
    await this.direct?.close();
    await this.fh.close();
  }
}
