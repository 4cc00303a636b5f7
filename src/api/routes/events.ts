import type { FastifyInstance } from 'fastify';
import type { EventBus } from '../../services/events.js';

const HEARTBEAT_MS = 15_000;

/**
 * `GET /api/v1/events`: server-sent events, one per line pair `event: TYPE` / `data: JSON`.
 * `?subject=PREFIX` keeps only events whose subject starts with PREFIX (a pool, `POOL/VOL`, a job id).
 */
export function registerEvents(app: FastifyInstance, events: EventBus): void {
  app.get('/api/v1/events', { schema: { summary: 'Server-sent events', tags: ['events'] } }, (req, reply) => {
    const prefix = typeof (req.query as Record<string, unknown>)['subject'] === 'string' ? String((req.query as Record<string, unknown>)['subject']) : '';
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': kvmpool events\n\n');
    const unsubscribe = events.subscribe((e) => {
      if (prefix && !e.subject.startsWith(prefix)) return;
      res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
    });
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    req.raw.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  });
}
