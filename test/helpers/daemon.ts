import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { KvmpoolEvent } from '../../src/model/event-types.js';
import { KvmpoolClient, type CallArgs, type ResultOf } from '../../src/client/client.js';
import type { OperationId } from '../../src/api/routes-table.js';
import { startDaemon, type Daemon, type DaemonOptions } from '../../src/daemon/daemon.js';
import { tempDir } from './tmp.js';

/** An in-process daemon on a temporary home, with clients on its socket and its TCP port. */
export interface TestDaemon {
  daemon: Daemon;
  home: string;
  client: KvmpoolClient;
  tcp: KvmpoolClient;
  token: string;
  logs: string[];
  /** Stops the daemon and starts a new one on the same home (running `meanwhile` in between). */
  restart(meanwhile?: () => Promise<void>): Promise<void>;
  /** Stops the daemon and removes the home. */
  close(): Promise<void>;
}

export async function startTestDaemon(options: Partial<DaemonOptions> = {}): Promise<TestDaemon> {
  const { dir, cleanup } = await tempDir();
  const logs: string[] = [];
  const start = () => startDaemon({ home: dir, listen: '127.0.0.1:0', log: (m) => void logs.push(m), ...options });
  const t: TestDaemon = {
    daemon: await start(),
    home: dir,
    client: new KvmpoolClient({ socketPath: `${dir}/kvmpool.sock` }),
    tcp: undefined as unknown as KvmpoolClient,
    token: (await readFile(`${dir}/token`, 'utf8')).trim(),
    logs,
    async restart(meanwhile) {
      await t.daemon.close();
      await meanwhile?.();
      t.daemon = await start();
      t.tcp = new KvmpoolClient({ url: `http://${t.daemon.tcp}`, token: t.token });
    },
    async close() {
      await t.daemon.close();
      await cleanup();
    },
  };
  t.tcp = new KvmpoolClient({ url: `http://${t.daemon.tcp}`, token: t.token });
  return t;
}

/** Runs `body` against a fresh test daemon, closing it (and removing its home) even on failure. */
export async function withDaemon(body: (t: TestDaemon) => Promise<void>, options: Partial<DaemonOptions> = {}): Promise<void> {
  const t = await startTestDaemon(options);
  try {
    await body(t);
  } finally {
    await t.close();
  }
}

/** Defines, builds and starts a dir pool at `target` (by default under the daemon's home); returns the target. */
export async function startPool(t: TestDaemon, name: string, target = path.join(t.home, 'pools-extra', name)): Promise<string> {
  await t.client.call('definePool', { body: { name, type: 'dir', target } });
  await t.client.call('buildPool', { params: { pool: name } });
  await t.client.call('startPool', { params: { pool: name } });
  return target;
}

/** Matches the `job.progress` events of job `id` that report work done: the job has visibly started. */
export const workDone = (id: string) => (e: KvmpoolEvent) => e.subject === id && ((e.data as { done?: number } | undefined)?.done ?? 0) > 0;

/** Events of a daemon, recorded from the moment the stream is open until `stop`. */
export interface EventRecorder {
  events: KvmpoolEvent[];
  /**
   * Waits for the first event of `type` that `match` accepts (recorded before or after the call); fails
   * after `timeoutMs`.
   */
  first(type: string, match?: (e: KvmpoolEvent) => boolean, timeoutMs?: number): Promise<KvmpoolEvent>;
  stop(): Promise<void>;
}

export async function recordEvents(client: KvmpoolClient): Promise<EventRecorder> {
  const events: KvmpoolEvent[] = [];
  const stop = new AbortController();
  let opened!: () => void;
  const open = new Promise<void>((r) => (opened = r));
  const stream = client.events((e) => events.push(e), { signal: stop.signal, onOpen: opened });
  await open;
  return {
    events,
    async first(type, match = () => true, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find((e) => e.type === type && match(e));
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no ${type} event came in ${timeoutMs / 1000} s: ${events.map((e) => `${e.type} ${e.subject}`).join(', ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      stop.abort();
      await stream;
    },
  };
}

/**
 * Calls an operation with arguments as any client might send them (bad input included): the typed
 * client would refuse to compile them, the daemon must refuse them at run time.
 */
export function rawCall<K extends OperationId>(client: KvmpoolClient, id: K, args: { params?: Record<string, string>; query?: Record<string, unknown>; body?: unknown }): Promise<ResultOf<K>> {
  return client.call(id, args as CallArgs<K>);
}
