import { EventEmitter } from 'node:events';
import type { KvmpoolEvent } from '../model/event-types.js';

export type { KvmpoolEvent };

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
