import { EventEmitter } from 'node:events';

/** An event for subscribers (SSE clients, metrics, logs). `subject` is a kvmpool name: POOL, POOL/VOLUME, a job id. */
export interface KvmpoolEvent {
  type: string;
  subject: string;
  time: string;
  data?: unknown;
}

/** In-process event bus. */
export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  emit(type: string, subject: string, data?: unknown): void {
    const event: KvmpoolEvent = { type, subject, time: new Date().toISOString() };
    if (data !== undefined) event.data = data;
    this.emitter.emit('event', event);
  }

  /** Calls `fn` for every event until the returned function is called. */
  subscribe(fn: (e: KvmpoolEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }
}
