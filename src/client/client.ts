import http from 'node:http';
import https from 'node:https';
import type { Static, TSchema } from 'typebox';
import { KvmpoolError, isErrorCode } from '../model/errors.js';
import type { JobInfo } from '../model/job-types.js';
import type { Operations } from '../api/operations.js';
import { routes, type OperationId } from '../api/routes-table.js';
import type { KvmpoolEvent } from '../model/event-types.js';
import { SPARSE_CONTENT_TYPE } from '../model/sparse-stream.js';
import { writeWindowed } from '../transfer/windowed-write.js';

/** Where the daemon is: its unix socket, or a URL with a bearer token. */
export type ClientTarget = { socketPath: string } | { url: string; token: string };

/** The static type of one part of an operation (`params`, `query`, `body`); never when it has none. */
type Part<O, P extends string> = O extends { [K in P]: infer S extends TSchema } ? Static<S> : never;

/** Arguments of one call: path parameters, query and body, typed by the operation's schemas. */
export interface CallArgs<K extends OperationId> {
  params?: Part<Operations[K], 'params'>;
  query?: Part<Operations[K], 'query'>;
  body?: Part<Operations[K], 'body'>;
}

type Responses<K extends OperationId> = Operations[K]['responses'];
/** The body type of an operation's responses (a union when it has several). */
export type ResultOf<K extends OperationId> = { [S in keyof Responses<K>]: Responses<K>[S] extends TSchema ? Static<Responses<K>[S]> : never }[keyof Responses<K>];

/** One typed method per operation. */
export type ApiMethods = { [K in OperationId]: (args?: CallArgs<K>) => Promise<ResultOf<K>> };

/** Typed HTTP client of the kvmpool API, shared by the CLI, the web UI and tests. */
export class KvmpoolClient {
  /** Every operation as a method: `client.api.getPool({ params: { pool } })`. */
  readonly api: ApiMethods;

  constructor(private readonly target: ClientTarget) {
    const methods: Partial<Record<OperationId, (args?: CallArgs<OperationId>) => Promise<unknown>>> = {};
    for (const id of Object.keys(routes) as OperationId[]) methods[id] = (args) => this.call(id, args);
    this.api = methods as ApiMethods;
  }

  /** Whether the daemon is reached over its unix socket, so on this host (it may then read and write this host's files). */
  get local(): boolean {
    return 'socketPath' in this.target;
  }

  /** Calls an operation by id; kvmpool errors come back as KvmpoolError with the daemon's code. */
  async call<K extends OperationId>(id: K, args: CallArgs<K> = {}): Promise<ResultOf<K>> {
    const op = routes[id];
    const params = (args.params ?? {}) as Record<string, string | undefined>;
    const path = op.path.replace(/:(\w+)/g, (_, name: string) => {
      const value = params[name];
      if (value === undefined) throw new KvmpoolError('INVALID_ARGUMENT', `missing parameter ${name}`);
      return encodeURIComponent(value);
    });
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries((args.query ?? {}) as Record<string, unknown>)) if (v !== undefined) query.set(k, String(v));
    const qs = query.size > 0 ? `?${query}` : '';
    const body = op.method === 'GET' || op.method === 'DELETE' ? undefined : JSON.stringify(args.body ?? {});
    const res = await this.request(op.method, path + qs, body);
    if (res.status >= 400) throw errorFrom(res.status, res.body);
    return (res.body.length > 0 ? JSON.parse(res.body) : undefined) as ResultOf<K>;
  }

  /** Streams events (optionally only those whose subject starts with `subject`) until `signal` aborts. */
  async events(onEvent: (e: KvmpoolEvent) => void, options: { subject?: string; signal: AbortSignal; onOpen?: () => void }): Promise<void> {
    const qs = options.subject ? `?subject=${encodeURIComponent(options.subject)}` : '';
    await new Promise<void>((resolve, reject) => {
      const req = this.open('GET', `/api/v1/events${qs}`, (res) => {
        if ((res.statusCode ?? 500) >= 400) {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => reject(errorFrom(res.statusCode ?? 500, text)));
          return;
        }
        options.onOpen?.();
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (data) onEvent(JSON.parse(data.slice(6)) as KvmpoolEvent);
          }
        });
        res.on('end', () => resolve());
        res.on('error', () => resolve());
      });
      req.on('error', (e) => (options.signal.aborted ? resolve() : reject(connectionError(this.target, e))));
      options.signal.addEventListener('abort', () => req.destroy(), { once: true });
      req.end();
    });
  }

  /** Waits for a job to finish, reporting progress; resolves with the finished job (any state). */
  async waitJob(id: string, onProgress?: (done: number, total: number) => void): Promise<JobInfo> {
    const stop = new AbortController();
    let finished: JobInfo | undefined;
    let opened!: () => void;
    const open = new Promise<void>((r) => (opened = r));
    const stream = this.events(
      (e) => {
        if (e.type === 'job.progress') {
          const d = e.data as { done: number; total: number };
          onProgress?.(d.done, d.total);
        } else if (e.type === 'job.finished') {
          finished = e.data as JobInfo;
          stop.abort();
        }
      },
      { subject: id, signal: stop.signal, onOpen: opened },
    );
    await Promise.race([open, stream]);
    const now = (await this.call('getJob', { params: { id } })) as JobInfo;
    if (now.state !== 'running') {
      stop.abort();
      await stream;
      return now;
    }
    onProgress?.(now.progress.done, now.progress.total);
    await stream;
    return finished ?? ((await this.call('getJob', { params: { id } })) as JobInfo);
  }

  /** Streams sparse frames (model/sparse-stream.ts) into a volume; resolves with the daemon's result. */
  async upload(pool: string, volume: string, frames: AsyncIterable<Buffer>, query: { offset?: number; grow?: boolean; force?: boolean } = {}): Promise<UploadReply> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, String(v));
    const path = `${contentPath(pool, volume)}${qs.size > 0 ? `?${qs}` : ''}`;
    return new Promise((resolve, reject) => {
      const req = this.open('PUT', path, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 500) >= 400) reject(errorFrom(res.statusCode ?? 500, text));
          else resolve(JSON.parse(text) as UploadReply);
        });
      });
      req.setHeader('content-type', SPARSE_CONTENT_TYPE);
      req.on('error', (e) => reject(connectionError(this.target, e)));
      void (async () => {
        try {
          // A request that closed early has its answer (an error) coming on the response.
          if (await writeWindowed(frames, req)) req.end();
        } catch (e) {
          req.destroy();
          reject(e);
        }
      })();
    });
  }

  /** Opens a download of a volume's bytes as sparse frames, with the range it covers. */
  async download(pool: string, volume: string, query: { offset?: number; length?: number } = {}): Promise<{ offset: number; length: number; format: string; job: string; frames: AsyncIterable<Buffer> }> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, String(v));
    const path = `${contentPath(pool, volume)}${qs.size > 0 ? `?${qs}` : ''}`;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = this.open('GET', path, resolve);
      req.setHeader('accept', SPARSE_CONTENT_TYPE);
      req.on('error', (e) => reject(connectionError(this.target, e)));
      req.end();
    });
    if ((res.statusCode ?? 500) >= 400) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw errorFrom(res.statusCode ?? 500, Buffer.concat(chunks).toString('utf8'));
    }
    const header = (name: string) => String(res.headers[name] ?? '');
    return { offset: Number(header('x-kvmpool-offset')), length: Number(header('x-kvmpool-length')), format: header('x-kvmpool-format'), job: header('x-kvmpool-job'), frames: res as AsyncIterable<Buffer> };
  }

  private request(method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = this.open(method, path, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 500, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', (e) => reject(connectionError(this.target, e)));
      if (body !== undefined) {
        req.setHeader('content-type', 'application/json');
        req.setHeader('content-length', Buffer.byteLength(body));
        req.write(body);
      }
      req.end();
    });
  }

  private open(method: string, path: string, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
    if ('socketPath' in this.target) {
      return http.request({ socketPath: this.target.socketPath, method, path, headers: { host: 'kvmpool' } }, onResponse);
    }
    const url = new URL(path, this.target.url);
    const mod = url.protocol === 'https:' ? https : http;
    return mod.request(url, { method, headers: { authorization: `Bearer ${this.target.token}` } }, onResponse);
  }
}

/** What an upload answers. */
export interface UploadReply {
  volume: { name: string; pool: string; capacity: number; allocation: number; format: string };
  /** Absent only where blocks were shared and not verified (a host file handed over). */
  sha256?: string;
  dataBytes: number;
  end: number;
  shared: boolean;
  job: string;
}

function contentPath(pool: string, volume: string): string {
  return `/api/v1/pools/${encodeURIComponent(pool)}/volumes/${encodeURIComponent(volume)}/content`;
}

function errorFrom(status: number, text: string): KvmpoolError {
  try {
    const e = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: Record<string, unknown> } }).error;
    if (e && isErrorCode(e.code)) return new KvmpoolError(e.code, String(e.message), e.details ?? {});
  } catch {
    // not a kvmpool error body
  }
  return new KvmpoolError(status === 401 ? 'UNAUTHORIZED' : 'INTERNAL', `HTTP ${status}: ${text.slice(0, 200)}`);
}

function connectionError(target: ClientTarget, e: Error): KvmpoolError {
  const where = 'socketPath' in target ? target.socketPath : target.url;
  return new KvmpoolError('UNAVAILABLE', `cannot reach the kvmpool daemon at ${where}: ${(e as NodeJS.ErrnoException).code ?? e.message} (is 'kvmpool serve' running?)`, { where });
}
