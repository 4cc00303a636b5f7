/** Stable error codes, the HTTP status each maps to, and the CLI exit code. One meaning per code. */
export const ERROR_CODES = {
  INVALID_ARGUMENT: { status: 400, exit: 2 },
  UNAUTHORIZED: { status: 401, exit: 13 },
  /** The caller may not do this here (a host file named over TCP rather than the unix socket). */
  FORBIDDEN: { status: 403, exit: 17 },
  NOT_FOUND: { status: 404, exit: 3 },
  ALREADY_EXISTS: { status: 409, exit: 4 },
  IN_USE: { status: 409, exit: 5 },
  POOL_NOT_ACTIVE: { status: 409, exit: 6 },
  POOL_ACTIVE: { status: 409, exit: 6 },
  POOL_DEGRADED: { status: 409, exit: 6 },
  POOL_NOT_EMPTY: { status: 409, exit: 5 },
  POOL_NOT_BUILT: { status: 409, exit: 6 },
  NETWORK_NOT_ACTIVE: { status: 409, exit: 6 },
  NETWORK_ACTIVE: { status: 409, exit: 6 },
  FOREIGN_VOLUME: { status: 409, exit: 5 },
  DEVICE_NOT_EMPTY: { status: 409, exit: 5 },
  CANNOT_SHRINK: { status: 409, exit: 7 },
  JOB_FINISHED: { status: 409, exit: 7 },
  CANCELLED: { status: 409, exit: 8 },
  INTERRUPTED: { status: 500, exit: 8 },
  NOT_SUPPORTED: { status: 422, exit: 9 },
  CHECKSUM_MISMATCH: { status: 422, exit: 15 },
  NO_SPACE: { status: 507, exit: 10 },
  HOST_TOOL_MISSING: { status: 500, exit: 11 },
  HOST_COMMAND_FAILED: { status: 500, exit: 11 },
  HOST_COMMAND_TIMEOUT: { status: 504, exit: 12 },
  UNAVAILABLE: { status: 503, exit: 14 },
  /** The storage refused the credentials of a pool (a wrong key or password); not the API's own token. */
  AUTH_FAILED: { status: 502, exit: 16 },
  INTERNAL: { status: 500, exit: 1 },
} as const;

/** One of the stable error codes. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Base error of kvmpool: a stable code, a one-line message, details for scripts, and an optional cause. */
export class KvmpoolError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KvmpoolError';
    this.code = code;
    this.details = details;
  }

  /** HTTP status for this error's code. */
  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

/** True when `code` is one of the stable codes (used to read errors back from the wire). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** Wraps any thrown value as a KvmpoolError, keeping kvmpool errors as they are. */
export function toKvmpoolError(err: unknown): KvmpoolError {
  if (err instanceof KvmpoolError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new KvmpoolError('INTERNAL', message, {}, { cause: err });
}

/** Shorthand constructors for the common codes. */
export const errors = {
  invalid: (message: string, details?: Record<string, unknown>) => new KvmpoolError('INVALID_ARGUMENT', message, details),
  notFound: (what: string, name: string) => new KvmpoolError('NOT_FOUND', `${what} '${name}' not found`, { kind: what, name }),
  exists: (what: string, name: string) => new KvmpoolError('ALREADY_EXISTS', `${what} '${name}' already exists`, { kind: what, name }),
  inUse: (message: string, details?: Record<string, unknown>) => new KvmpoolError('IN_USE', message, details),
  notSupported: (message: string, details?: Record<string, unknown>) => new KvmpoolError('NOT_SUPPORTED', message, details),
};
