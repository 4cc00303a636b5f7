import net from 'node:net';
import { KvmpoolError } from '../model/errors.js';

/** An asynchronous QMP event (SHUTDOWN, STOP, RESUME, DEVICE_DELETED, ...). */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  command: string;
}

const COMMAND_TIMEOUT_MS = 30_000;

/**
 * A QMP connection over a unix socket: JSON messages, one per line. Commands carry an id and are
 * answered in order; events go to `onEvent`; `closed` resolves when qemu (or we) close the socket.
 */
export class QmpClient {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  readonly closed: Promise<void>;
  onEvent: (e: QmpEvent) => void = () => {};

  private constructor(private readonly socket: net.Socket) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.receive(chunk));
    socket.on('error', () => {});
    void this.closed.then(() => {
      this.isClosed = true;
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(new KvmpoolError('UNAVAILABLE', `qemu closed its monitor during ${p.command}`, { command: p.command }));
        this.pending.delete(id);
      }
    });
  }

  /** Connects, reads the greeting and leaves capabilities negotiation mode (qemu serves one client: a failed connect lets go). */
  static async connect(path: string, timeoutMs = 10_000): Promise<QmpClient> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(path);
      const timer = setTimeout(() => (s.destroy(), reject(new KvmpoolError('HOST_COMMAND_TIMEOUT', `no answer on the QMP socket ${path}`))), timeoutMs);
      s.once('connect', () => (clearTimeout(timer), resolve(s)));
      s.once('error', (e) => (clearTimeout(timer), s.destroy(), reject(e)));
    });
    const client = new QmpClient(socket);
    try {
      await client.greeting(timeoutMs);
      await client.execute('qmp_capabilities');
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  private greeted?: () => void;
  private isClosed = false;

  private greeting(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new KvmpoolError('HOST_COMMAND_TIMEOUT', 'qemu sent no QMP greeting')), timeoutMs);
      this.greeted = () => (clearTimeout(timer), resolve());
      void this.closed.then(() => (clearTimeout(timer), reject(new KvmpoolError('UNAVAILABLE', 'qemu closed its monitor before greeting'))));
    });
  }

  /** Runs a QMP command; rejects with HOST_COMMAND_FAILED carrying qemu's error class and description. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = COMMAND_TIMEOUT_MS): Promise<T> {
    if (this.isClosed) return Promise.reject(new KvmpoolError('UNAVAILABLE', `qemu's monitor is closed (${command})`, { command }));
    const id = String(this.nextId++);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new KvmpoolError('HOST_COMMAND_TIMEOUT', `qemu did not answer ${command} in ${timeoutMs / 1000} s`, { command }));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, command });
      this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line !== '') this.dispatch(JSON.parse(line) as Record<string, unknown>);
    }
  }

  private dispatch(msg: Record<string, unknown>): void {
    if ('QMP' in msg) return this.greeted?.();
    if ('event' in msg) return this.onEvent(msg as unknown as QmpEvent);
    const p = this.pending.get(String(msg['id']));
    if (!p) return;
    this.pending.delete(String(msg['id']));
    clearTimeout(p.timer);
    if ('error' in msg) {
      const err = msg['error'] as { class: string; desc: string };
      p.reject(new KvmpoolError('HOST_COMMAND_FAILED', `qemu: ${p.command}: ${err.desc}`, { command: p.command, class: err.class }));
    } else p.resolve(msg['return']);
  }
}
