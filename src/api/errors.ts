import { KvmpoolError, toKvmpoolError } from '../model/errors.js';

/** The one mapping from any thrown error to an HTTP status and `{ error: { code, message, details } }`. */
export function errorResponse(err: unknown): { status: number; body: { error: { code: string; message: string; details?: Record<string, unknown> } } } {
  const e = fromFramework(err) ?? toKvmpoolError(err);
  const body: { code: string; message: string; details?: Record<string, unknown> } = { code: e.code, message: e.message };
  if (Object.keys(e.details).length > 0) body.details = e.details;
  return { status: e.status, body: { error: body } };
}

/** Fastify's own errors: schema validation, bad JSON, oversized bodies, unsupported media. */
function fromFramework(err: unknown): KvmpoolError | undefined {
  if (err instanceof KvmpoolError || typeof err !== 'object' || err === null) return undefined;
  const e = err as { validation?: unknown; validationContext?: string; statusCode?: number; message?: string; code?: string };
  if (e.validation) return new KvmpoolError('INVALID_ARGUMENT', `invalid request: ${e.message ?? 'bad input'}`, { where: e.validationContext });
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new KvmpoolError('INVALID_ARGUMENT', `invalid request: ${e.message ?? 'bad input'}`, { reason: e.code });
  }
  return undefined;
}
