import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { KvmpoolError } from '../model/errors.js';
import { run } from './exec.js';
import { classifyRbd, CONNECT_TIMEOUT_S, OP_TIMEOUT_S, placeArgs, whoAndWhere, type RbdPlace } from './rbd.js';

/**
 * Many images read over one cluster connection, by rbd-scan.py (Ceph's own Python bindings): the
 * stamps of every image of a pool at once, the facts of many, and a watch that says which changed.
 * The rbd tool would open a connection per call and every image for a listing.
 */

/** Debian's interpreter, which has python3-rados and python3-rbd (a python3 earlier on PATH may not). */
const PYTHON = '/usr/bin/python3';
/** The program beside this module's source (this file runs from dist/src/host/). */
const SCRIPT = fileURLToPath(new URL('../../../src/host/rbd-scan.py', import.meta.url));

/** An image's facts as rbd-scan.py reads them; `missing` when there is no image of that name. */
export interface ScannedImage {
  name: string;
  id?: string;
  /** The id and the versions of its header and object map: the same stamp, the same image. */
  stamp?: string;
  missing?: true;
  /** In the directory, but it cannot be opened (its header is gone or damaged). */
  unreadable?: true;
  size?: number;
  /** Bytes of the objects that exist since the last snapshot, as `rbd du` counts them. */
  used?: number;
  /** The user's snapshots, oldest first. */
  snapshots?: string[];
  /** `trash`: in the trash (known of a parent in the same pool and namespace only). */
  parent?: { pool: string; pool_namespace: string; image: string; id: string; snapshot: string; trash: boolean } | null;
  features?: string[];
  objectSize?: number;
}

/** A watch's report: names that came, went or were replaced (`entry`), or whose image changed (`content`). */
export type ImageChange = { entry: string[] } | { content: string[] } | { ready: number };

const scanArgs = (p: RbdPlace, mode: string, ...rest: string[]): string[] => [SCRIPT, ...whoAndWhere(p), ...placeArgs(p), mode, ...rest];

/**
 * Each request is bounded by the program's own op timeout, and a failed one ends it; the whole is
 * bounded too, generously, as its time grows with the images: the stamps of 100,000 take about 15 s,
 * reading an image about 3 ms.
 */
const STAMPS_BOUND_MS = 600_000;
const readBoundMs = (images: number) => (CONNECT_TIMEOUT_S + 2 * OP_TIMEOUT_S) * 1000 + images * 100;

async function scan<T>(p: RbdPlace, mode: string, what: string, timeoutMs: number, input?: string): Promise<T> {
  try {
    const { stdout } = await run(PYTHON, scanArgs(p, mode), { timeoutMs, ...(input !== undefined ? { input } : {}) });
    return JSON.parse(stdout) as T;
  } catch (e) {
    throw classifyRbd(e, what);
  }
}

/** The stamp of every image in the pool's directory, by name (one request per header and object map, eight at a time). */
export async function imageStamps(p: RbdPlace, what: string): Promise<Map<string, string>> {
  return new Map(Object.entries(await scan<Record<string, string>>(p, 'stamps', what, STAMPS_BOUND_MS)));
}

/** The facts of the named images, each stamped before it was read. */
export const readImages = (p: RbdPlace, names: readonly string[], what: string): Promise<ScannedImage[]> => scan<ScannedImage[]>(p, 'read', what, readBoundMs(names.length), JSON.stringify(names));

/**
 * Removes what is left of an image whose header is gone (`rbd rm` cannot know its data objects): its
 * data objects, named by its id up to its last known size, and its object map. Returns how many went.
 */
export async function removeImageData(p: RbdPlace, id: string, objects: number, what: string): Promise<number> {
  if (!/^[0-9a-f]{1,32}$/.test(id) || !Number.isSafeInteger(objects) || objects < 0) throw new KvmpoolError('INVALID_ARGUMENT', `not an RBD image id and object count: ${id}, ${objects}`);
  return (await scan<{ removed: number }>(p, 'remove-data', what, readBoundMs(objects / 100), JSON.stringify({ id, objects }))).removed;
}

/** A running watch of a pool's images. */
export interface ImageWatch {
  close(): void;
  /** Has the names looked at now and their changes reported; gives up waiting after `LOOK_WAIT_MS`. */
  look(): Promise<void>;
}

/** How long `look` waits for its answer (a cluster slow to answer is not waited on by a listing). */
const LOOK_WAIT_MS = 5000;

/**
 * Watches the pool's images: names are looked at every `seconds`, stamps as often or, on a pool so
 * large that reading them takes longer than a tenth of that, less often. `onEnd` is called once when
 * the watch ends other than by `close` (the cluster stopped answering), with the reason.
 */
export function watchImages(p: RbdPlace, seconds: number, onChange: (change: ImageChange) => void, onEnd: (reason: string) => void): ImageWatch {
  const abort = new AbortController();
  let ended = false;
  let asked = 0;
  let input: Writable | undefined;
  const waiting = new Map<number, () => void>();
  const answer = (upTo: number) => {
    for (const [n, done] of waiting) if (n <= upTo) done();
  };
  let pending = '';
  const lines = (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const line of parts.filter((l) => l.trim() !== '')) {
      let change: ImageChange | { looked: number };
      try {
        change = JSON.parse(line) as ImageChange | { looked: number };
      } catch {
        end(`the watch of the images said what it should not: ${line.slice(0, 200)}`);
        return abort.abort();
      }
      if ('looked' in change) answer(change.looked);
      else onChange(change);
    }
  };
  const end = (reason: string, closed = abort.signal.aborted) => {
    if (ended) return;
    ended = true;
    answer(Infinity);
    if (!closed) onEnd(reason);
  };
  run(PYTHON, scanArgs(p, 'watch', String(seconds)), {
    timeoutMs: 2 ** 31 - 1,
    signal: abort.signal,
    // Its standard input stays open while the daemon lives: it ends by itself when the daemon is gone.
    stream: ({ stdin, stdout }) => {
      input = stdin;
      stdout.setEncoding('utf8').on('data', lines);
    },
  }).then(
    () => end('the watch of the images ended'),
    (e: unknown) => {
      const failure = classifyRbd(e, `the images of ${p.pool}`);
      end(failure instanceof Error ? failure.message : String(failure));
    },
  );
  return {
    close: () => abort.abort(),
    look: () =>
      new Promise<void>((resolve) => {
        if (ended || !input) return resolve();
        const n = ++asked;
        const timer = setTimeout(done, LOOK_WAIT_MS);
        function done() {
          clearTimeout(timer);
          waiting.delete(n);
          resolve();
        }
        waiting.set(n, done);
        input.write(`${n}\n`);
      }),
  };
}
