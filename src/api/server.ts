import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { EventBus } from '../services/events.js';
import type { Metrics } from '../services/metrics.js';
import { KvmpoolError } from '../model/errors.js';
import { errorResponse } from './errors.js';
import { buildOperations, type OperationId } from './operations.js';
import type { ApiServices, Caller, Handlers } from './handlers.js';
import { poolHandlers } from './routes/pools.js';
import { volumeHandlers } from './routes/volumes.js';
import { jobHandlers } from './routes/jobs.js';
import { clusterHandlers } from './routes/cluster.js';
import { snapshotHandlers } from './routes/snapshots.js';
import { networkHandlers } from './routes/networks.js';
import { vmHandlers } from './routes/vms.js';
import { registerEvents } from './routes/events.js';
import { registerContent } from './routes/content.js';
import { hostFileHandlers } from './routes/host-files.js';

/** What the API server needs. */
export interface ApiOptions extends ApiServices {
  events: EventBus;
  metrics: Metrics;
  /** Bearer token required on every connection but those of the app's own (unix socket) server. */
  token: string;
  log: (message: string) => void;
}

/** Builds the HTTP API: one route per operation, one error mapping, token auth on TCP, OpenAPI, metrics, events. */
export async function buildApi(o: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    routerOptions: { maxParamLength: 2048 },
    bodyLimit: 1024 * 1024,
    // Unknown fields are an error, not silently dropped: a typo must not change what happens. A
    // discriminated union (a pool's settings by its type) is checked against its own branch only.
    ajv: { customOptions: { removeAdditional: false, discriminator: true } },
  });
  await app.register(swagger, {
    openapi: { info: { title: 'kvmpool', version: o.version, description: 'Storage pools and volumes of a KVM host' }, components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } }, security: [{ bearer: [] }] },
  });

  app.setErrorHandler((err, _req, reply) => {
    const { status, body } = errorResponse(err);
    if (status >= 500) o.log(`error: ${body.error.code}: ${body.error.message}`);
    void reply.status(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    const { status, body } = errorResponse(new KvmpoolError('NOT_FOUND', `no such API path: ${req.method} ${req.url}`));
    void reply.status(status).send(body);
  });

  // Connections accepted by this app's own server (the unix socket, guarded by its 0600 mode) are
  // trusted; any other connection (the TCP listener serves through app.routing) needs the token.
  const trusted = new WeakSet<object>();
  app.server.on('connection', (socket) => trusted.add(socket));
  const expected = Buffer.from(`Bearer ${o.token}`);
  app.addHook('onRequest', async (req) => {
    if (trusted.has(req.raw.socket)) return;
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new KvmpoolError('UNAUTHORIZED', 'missing or wrong bearer token');
    }
  });

  const operations = buildOperations(o.storageTypes.list());
  const handlers: Handlers = { ...poolHandlers(o), ...volumeHandlers(o), ...snapshotHandlers(o), ...networkHandlers(o), ...vmHandlers(o), ...jobHandlers(o), ...hostFileHandlers(o), ...clusterHandlers(o) };
  for (const id of Object.keys(operations) as OperationId[]) {
    const def = operations[id];
    const handler = handlers[id] as (input: { params: unknown; query: unknown; body: unknown; caller: Caller }) => Promise<{ status?: number | string | symbol; body?: unknown }>;
    const firstStatus = Number(Object.keys(def.responses)[0]);
    app.route({
      method: def.method,
      url: def.path,
      schema: {
        operationId: id,
        summary: def.summary,
        tags: [def.tag],
        ...('params' in def ? { params: def.params } : {}),
        ...('query' in def ? { querystring: def.query } : {}),
        ...('body' in def ? { body: def.body } : {}),
        response: def.responses,
      },
      ...('bulk' in def ? { serializerCompiler: () => (data: unknown) => JSON.stringify(data) } : {}),
      // A POST without a body means "no options". A pool of a type this daemon lacks is refused by the
      // registry (unknown, or planned and NOT_SUPPORTED) before the union of known types is checked.
      preValidation: async (req) => {
        if ('body' in def && req.body === undefined) req.body = {};
        const body: unknown = req.body;
        if (id === 'definePool' && typeof body === 'object' && body !== null && 'type' in body) o.storageTypes.get(String(body.type));
      },
      // The route's schemas validated params, query and body: the handler gets them typed.
      handler: async (req, reply) => {
        const out = await handler({ params: req.params ?? {}, query: req.query ?? {}, body: req.body ?? {}, caller: { local: trusted.has(req.raw.socket) } });
        const status = Number(out.status ?? firstStatus);
        if (status === 204) return reply.status(204).send();
        return reply.status(status).send(out.body);
      },
    });
  }

  registerEvents(app, o.events);
  registerContent(app, o.transfers);
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    void reply.header('content-type', o.metrics.registry.contentType);
    return o.metrics.registry.metrics();
  });
  await app.ready();
  return app;
}
