import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { run } from '../../src/host/exec.js';

/** Writes `length` bytes of `byte` at `offset` into an existing file (a raw image). */
export async function writePattern(file: string, offset: number, length: number, byte: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const chunk = Buffer.alloc(Math.min(length, 4 * 1024 * 1024), byte);
    for (let done = 0; done < length; done += chunk.length) await fh.write(chunk, 0, Math.min(chunk.length, length - done), offset + done);
  } finally {
    await fh.close();
  }
}

/** sha256 of a file's bytes. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Bytes a file occupies on disk. */
export async function allocated(file: string): Promise<number> {
  return (await stat(file)).blocks * 512;
}

/** True when two images (any formats qemu-img reads) have the same guest-visible content. */
export async function sameContent(a: string, aFormat: string, b: string, bFormat: string): Promise<boolean> {
  return run('qemu-img', ['compare', '-q', '-f', aFormat, '-F', bFormat, a, b]).then(
    () => true,
    () => false,
  );
}

/** Writes a pattern through qemu-io into an image of any format (what a guest would write). */
export async function qemuWrite(file: string, format: string, offset: number, length: number, byte: number): Promise<void> {
  await run('qemu-io', ['-f', format, '-c', `write -P ${byte} ${offset} ${length}`, file]);
}

/** True when the image reads back `byte` over the range (through qemu-io). */
export async function qemuReads(file: string, format: string, offset: number, length: number, byte: number): Promise<boolean> {
  // qemu-io exits 1 and prints "Pattern verification failed" when the bytes differ.
  return run('qemu-io', ['-f', format, '-c', `read -P ${byte} ${offset} ${length}`, file]).then(
    () => true,
    () => false,
  );
}
