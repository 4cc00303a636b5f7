import type { FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { Type } from 'typebox';
import { SPARSE_CONTENT_TYPE } from '../../model/sparse-stream.js';
import { errors } from '../../model/errors.js';
import { volumeRef } from '../../model/names.js';
import { denseToSparse, sparseToDense } from '../../transfer/dense.js';
import { writeWindowed } from '../../transfer/windowed-write.js';
import type { TransferService } from '../../services/storage/transfers.js';
import { Volume, VolumeParams } from '../schemas.js';

const ContentQuery = Type.Object(
  {
    offset: Type.Optional(Type.Integer({ minimum: 0 })),
    length: Type.Optional(Type.Integer({ minimum: 0 })),
    grow: Type.Optional(Type.Boolean()),
    force: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
// A streamed upload is always read, so always hashed.
const UploadResult = Type.Object({ volume: Volume, sha256: Type.String(), dataBytes: Type.Integer(), end: Type.Integer(), shared: Type.Boolean(), job: Type.String() });

/**
 * `GET|PUT /api/v1/pools/{pool}/volumes/{volume}/content`: a volume's bytes as a stream. With
 * `application/x-kvmpool-sparse` (Accept for GET, Content-Type for PUT) holes travel as frames and
 * the end frame carries the sha256; with `application/octet-stream` the bytes are plain (the GET's
 * sha256 comes in the `x-kvmpool-sha256` trailer). `offset`/`length` select a range.
 */
export function registerContent(app: FastifyInstance, transfers: TransferService): void {
  // Upload bodies are streamed to the volume, never buffered.
  app.addContentTypeParser([SPARSE_CONTENT_TYPE, 'application/octet-stream'], (_req, payload, done) => done(null, payload));
  const url = '/api/v1/pools/:pool/volumes/:volume/content';

  app.get(url, { schema: { summary: "Download a volume's bytes", tags: ['volumes'], operationId: 'downloadVolume', params: VolumeParams, querystring: ContentQuery } }, async (req, reply) => {
    const { pool, volume } = req.params as { pool: string; volume: string };
    const q = req.query as { offset?: number; length?: number };
    const prepared = await transfers.download(volumeRef(pool, volume), { ...(q.offset !== undefined ? { offset: q.offset } : {}), ...(q.length !== undefined ? { length: q.length } : {}) });
    const sparse = (req.headers.accept ?? '').includes(SPARSE_CONTENT_TYPE);
    reply.hijack();
    const res = reply.raw;
    prepared.onCancel(() => res.destroy());
    const headers: Record<string, string | number> = {
      'content-type': sparse ? SPARSE_CONTENT_TYPE : 'application/octet-stream',
      'x-kvmpool-offset': prepared.offset,
      'x-kvmpool-length': prepared.length,
      'x-kvmpool-format': prepared.volume.format,
      'x-kvmpool-job': prepared.job.id,
    };
    if (!sparse) headers['trailer'] = 'x-kvmpool-sha256';
    res.writeHead(200, headers);
    let sha256 = '';
    const body = sparse ? prepared.frames : sparseToDense(prepared.frames, prepared.offset, (h) => (sha256 = h ?? ''));
    try {
      if (!(await writeWindowed(body, res))) throw new Error('client gone');
      if (!sparse) res.addTrailers({ 'x-kvmpool-sha256': sha256 });
      res.end();
    } catch {
      // The status is sent: a broken stream (cancelled, client gone) can only be cut off.
      res.destroy();
      await prepared.frames.return(undefined);
    }
  });

  app.put(
    url,
    { bodyLimit: Number.MAX_SAFE_INTEGER, schema: { summary: "Upload a volume's bytes", tags: ['volumes'], operationId: 'uploadVolume', params: VolumeParams, querystring: ContentQuery, response: { 200: UploadResult } } },
    async (req) => {
      const { pool, volume } = req.params as { pool: string; volume: string };
      const q = req.query as { offset?: number; length?: number; grow?: boolean; force?: boolean };
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      const stream = req.body as IncomingMessage;
      if (typeof stream?.[Symbol.asyncIterator] !== 'function') throw errors.invalid(`upload with content type ${SPARSE_CONTENT_TYPE} or application/octet-stream`);
      const frames = type === SPARSE_CONTENT_TYPE ? (stream as AsyncIterable<Buffer>) : denseToSparse(stream as AsyncIterable<Buffer>, q.offset ?? 0);
      return transfers.upload(volumeRef(pool, volume), frames, {
        ...(q.offset !== undefined ? { offset: q.offset } : {}),
        ...(q.grow !== undefined ? { grow: q.grow } : {}),
        ...(q.force !== undefined ? { force: q.force } : {}),
      });
    },
  );
}
