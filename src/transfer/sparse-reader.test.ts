import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SparseDecoder } from '../model/sparse-stream.js';
import { PULL_WINDOW, readSparse } from './sparse-reader.js';

/**
 * A consumer as slow as the contract allows: each chunk is looked at only when PULL_WINDOW more have
 * been taken (as a socket that flushes late would). Returns the sha256 of the content it saw.
 */
async function slowConsumer(frames: AsyncIterable<Buffer>): Promise<{ seen: string; sent?: string }> {
  const decoder = new SparseDecoder(0);
  const hash = createHash('sha256');
  let sent: string | undefined;
  const pending: Buffer[] = [];
  const consume = (chunk: Buffer) => {
    for (const f of decoder.push(chunk)) {
      if (f.type === 'data') hash.update(f.data);
      else if (f.type === 'hole') hash.update(Buffer.alloc(f.length));
      else sent = f.sha256;
    }
  };
  for await (const chunk of frames) {
    pending.push(chunk);
    if (pending.length > PULL_WINDOW) consume(pending.shift()!);
  }
  for (const chunk of pending) consume(chunk);
  return { seen: hash.digest('hex'), ...(sent !== undefined ? { sent } : {}) };
}

test('pieces stay intact while a slow consumer holds them, even across long zero runs that are read but not sent', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kvmpool-test-reader-'));
  try {
    const file = path.join(dir, 'f');
    const MiB = 1024 * 1024;
    const fh = await open(file, 'w');
    // Data, then 40 MiB of written zeros (read, and found to be zero), then data again.
    const head = randomBytes(3 * MiB);
    const tail = randomBytes(2 * MiB + 100);
    await fh.write(head, 0, head.length, 0);
    await fh.write(Buffer.alloc(40 * MiB), 0, 40 * MiB, head.length);
    await fh.write(tail, 0, tail.length, head.length + 40 * MiB);
    await fh.close();
    const size = head.length + 40 * MiB + tail.length;
    const expected = createHash('sha256').update(head).update(Buffer.alloc(40 * MiB)).update(tail).digest('hex');
    const { seen, sent } = await slowConsumer(readSparse(file, 0, size));
    assert.equal(sent, expected, 'the reader hashed the file');
    assert.equal(seen, expected, 'what the consumer saw is the file');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
