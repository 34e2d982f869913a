/** Turning dockerode failures into BerthErrors with a sentence that says what to do. */
import { BerthError } from '../../api/index.js';

/** The HTTP status the engine answered with, if the engine answered at all. */
export function engineStatus(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** True for "the engine does not have it". */
export function isNotFound(err: unknown): boolean {
  return engineStatus(err) === 404;
}

const CONNECTION_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'EPERM', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTSOCK']);

/** True when the socket could not be reached (as opposed to the engine refusing a request). */
export function isConnectionError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code !== undefined && CONNECTION_CODES.has(code)) return true;
  return /timeout/i.test((err as Error | null)?.message ?? '') && engineStatus(err) === undefined;
}

/** Why the engine is unreachable, and how to fix it. */
export function unreachableReason(socketPath: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const why =
    code === 'EACCES' || code === 'EPERM' ? ` (permission denied: run the agent as root or add its user to the docker group)` : code ? ` (${code})` : '';
  return (
    `Docker engine not reachable at ${socketPath}${why}: start it with \`dockerd &\` (or \`systemctl start docker\`), ` +
    'or install it with `apt-get install docker.io`.'
  );
}

/** The engine's own message, for `detail`. */
export function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; reason?: string; message?: string } | null;
  return e?.json?.message ?? e?.message ?? String(err);
}

/** Wraps an unexpected engine failure, keeping BerthErrors as they are. */
export function engineError(err: unknown, doing: string, socketPath: string): BerthError {
  if (err instanceof BerthError) return err;
  if (isConnectionError(err)) return new BerthError('PROVIDER_UNAVAILABLE', unreachableReason(socketPath, err), { cause: err });
  return new BerthError('INTERNAL', `Docker failed while ${doing}: see the detail, then retry.`, { detail: engineMessage(err), cause: err });
}
