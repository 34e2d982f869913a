/**
 * The one error model of berth: every error a user can see has a stable code from this
 * registry, a sentence that says what went wrong and what to do, and (when it concerns one)
 * the field. Codes are mapped to HTTP statuses here, once; nobody matches on message text.
 */
import { z } from 'zod';

/** Every error code berth can return, with the HTTP status it maps to at the edge. */
export const ERROR_CODES = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 409,
  // An operation stopped on request (`berth op cancel`, `berth ws rm` of a workspace still
  // being created). 409 rather than nginx's 499: the request that reads this did not go
  // away; the work it asks about lost to a conflicting request that stopped it.
  CANCELLED: 409,
  // Teams and sharing: a team's quota (workspaces, CPUs, memory) would be exceeded.
  QUOTA_EXCEEDED: 403,
  UNSUPPORTED: 501,
  PROVIDER_UNAVAILABLE: 503,
  NO_NODE_AVAILABLE: 503,
  NODE_OFFLINE: 503,
  /** A berth server (or its SSH gateway) that cannot be reached at all. */
  UNAVAILABLE: 503,
  PROTOCOL_MISMATCH: 426,
  TIMEOUT: 504,
  INTERNAL: 500,
} as const;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

export const errorCodeSchema = z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]);

/** The wire shape of an error, in HTTP bodies, RPC responses and operation results. */
export const apiErrorSchema = z.object({
  code: errorCodeSchema,
  message: z.string(),
  field: z.string().optional(),
  detail: z.string().optional(),
});
export type ApiError = z.infer<typeof apiErrorSchema>;

/** An error that carries a code; thrown anywhere, turned into an ApiError at the edge. */
export class BerthError extends Error {
  readonly code: ErrorCode;
  readonly field?: string;
  readonly detail?: string;

  constructor(code: ErrorCode, message: string, opts: { field?: string; detail?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'BerthError';
    this.code = code;
    this.field = opts.field;
    this.detail = opts.detail;
  }

  /** The HTTP status this error's code maps to. */
  get httpStatus(): number {
    return ERROR_CODES[this.code];
  }

  toJSON(): ApiError {
    const out: ApiError = { code: this.code, message: this.message };
    if (this.field !== undefined) out.field = this.field;
    if (this.detail !== undefined) out.detail = this.detail;
    return out;
  }

  /** Rebuilds an error that crossed the wire. */
  static fromApi(e: ApiError): BerthError {
    return new BerthError(e.code, e.message, { field: e.field, detail: e.detail });
  }
}

/** Turns anything thrown into an ApiError; unknown errors become INTERNAL without leaking internals into `message`. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof BerthError) return err.toJSON();
  const parsed = apiErrorSchema.safeParse(err);
  if (parsed.success) return parsed.data;
  const detail = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message: 'berth hit an unexpected error; the server log has the details.', detail };
}

/** Turns a failed zod parse into INVALID_ARGUMENT naming the first offending field. */
export function fromZodError(error: z.ZodError, prefix = ''): BerthError {
  const issue = error.issues[0];
  // An unknown key is the field at fault, though zod reports it on the object that holds it.
  const extra = issue?.code === 'unrecognized_keys' ? [JSON.stringify(String(issue.keys[0]).slice(0, 64)).slice(1, -1)] : [];
  const field = [prefix, ...(issue?.path ?? []).map(String), ...extra].filter(Boolean).join('.') || undefined;
  if (extra.length > 0) return new BerthError('INVALID_ARGUMENT', `Unknown field ${field}: remove it, or check its spelling.`, { field });
  const what = issue?.message ?? 'invalid input';
  const message = field ? `Invalid ${field}: ${what}.` : `Invalid request: ${what}.`;
  return new BerthError('INVALID_ARGUMENT', message.replace(/\.\.$/, '.'), { field });
}
