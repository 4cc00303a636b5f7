#!/usr/bin/env -S UV_THREADPOOL_SIZE=16 node --single-threaded-gc --max-semi-space-size=4
// Entry point of the kvmpool CLI and daemon (`kvmpool serve`). The TypeScript is built into dist/ by `npm ci`.
// The node flags (here only, so every way of starting kvmpool runs it alike):
// --single-threaded-gc: V8's parallel collector ran four helper threads that took the cores from a
// transfer's hashing and I/O (a 1 GiB upload: 4.0-4.5 s with them, 3.0 s without); the heap is small.
// --max-semi-space-size=4 (MiB): the young generation V8 keeps committed; its default of 16 MiB per
// half kept the daemon's RSS at about 175 MiB after listing 100,000 volumes, 4 MiB at about 145 MiB.
// UV_THREADPOOL_SIZE=16: file I/O runs on these threads, and one that reads a network file system whose
// server went away waits until the server is back; with the default 4, a few such reads would stall
// every pool's file I/O.
import { existsSync } from 'node:fs';

// A closed pipe (`kvmpool vol list | head`) is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("kvmpool: not built yet: run 'npm ci' (or 'npm run build') in the checkout\n");
  process.exit(1);
}
const { main } = await import(entry.href);
const code = await main(process.argv.slice(2));
if (process.argv[2] !== 'serve' || code !== 0) process.exitCode = code;
