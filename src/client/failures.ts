/**
 * Turns transport-level failures (refused connections, non-JSON answers, early closes) into
 * BerthErrors with codes from the registry, so callers only ever handle one error type.
 */
import { type ApiError, apiErrorSchema, BerthError, TLS_CERT_ERROR_CODES } from '../api/index.js';

/** Network error codes that mean "nothing answered at that address". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** True when a connection failed because the server's certificate was not trusted. */
export function isCertError(err: unknown): boolean {
  const code = networkErrorCode(err);
  return code !== undefined && TLS_CERT_ERROR_CODES.has(code);
}

/** The error for a server that cannot be reached at all; the message says what to check. */
export function unreachableError(server: string, cause: unknown): BerthError {
  const code = networkErrorCode(cause);
  const why = code ? ` (${code})` : '';
  // A TLS server hangs up on plain HTTP without an answer: say so rather than "not running".
  if (server.startsWith('http:') && (code === 'ECONNRESET' || /socket hang up/.test(describe(cause)))) {
    return new BerthError(
      'UNAVAILABLE',
      `The server at ${server} closed the connection without an HTTP answer${why}; if it serves HTTPS (any berth server on a non-loopback address does, or one started with --tls), use ${server.replace(/^http:/, 'https:')}.`,
      { field: 'server', detail: describe(cause), cause },
    );
  }
  return new BerthError('UNAVAILABLE', `Cannot reach the berth server at ${server}${why}; is \`berth server\` running there, and is the address right?`, {
    detail: describe(cause),
    cause,
  });
}

/** True when an error thrown by fetch or ws looks like a connection failure rather than a bug. */
export function isNetworkError(err: unknown): boolean {
  if (err instanceof TypeError && err.message === 'fetch failed') return true;
  const code = networkErrorCode(err);
  return code !== undefined && UNREACHABLE_CODES.has(code);
}

/** Builds the BerthError for a non-2xx answer: the server's own error when the body is one, otherwise a description of what came back. */
export function errorFromResponse(status: number, bodyText: string, what: string): BerthError {
  const apiError = parseApiError(bodyText);
  if (apiError) return BerthError.fromApi(apiError);
  const snippet = bodyText.trim().slice(0, 200);
  if (status === 404) {
    return new BerthError('NOT_FOUND', `The server has no ${what}; is this address a berth server of a compatible version?`, {
      detail: snippet || undefined,
    });
  }
  return new BerthError('INTERNAL', `The server answered ${what} with HTTP ${status} and no berth error; its log may say why.`, {
    detail: snippet || undefined,
  });
}

/** Parses an ApiError from a JSON body, or returns undefined when the body is something else. */
export function parseApiError(bodyText: string): ApiError | undefined {
  try {
    const parsed = apiErrorSchema.safeParse(JSON.parse(bodyText));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function networkErrorCode(err: unknown): string | undefined {
  // fetch (undici) wraps the socket error as `cause`; ws emits the socket error itself.
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const nested = (e as { errors?: unknown[] }).errors;
    if (Array.isArray(nested) && nested.length > 0) {
      const inner = networkErrorCode(nested[0]);
      if (inner) return inner;
    }
  }
  return undefined;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}
