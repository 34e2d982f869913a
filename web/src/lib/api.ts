/**
 * The browser's client of the berth API: the same route table and zod schemas as the CLI
 * (src/api), over fetch with the session cookie. Every call carries the session's CSRF header
 * (the server serves its value only in the page itself, see web-static.ts); every failure becomes a BerthError with the API's code and message.
 */
import {
  API_PREFIX,
  apiErrorSchema,
  BerthError,
  CSRF_HEADER,
  CSRF_META,
  CSRF_QUERY_PARAM,
  fillPath,
  type Operation,
  type OperationEvent,
  operationEventSchema,
  type RouteName,
  type RouteResponse,
  routes,
  streams,
} from '../../../src/api/index.js';

/** What a call sends besides the route's name. */
export interface CallOptions {
  params?: Record<string, string>;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
}

// Web UI previews: the value comes in the page the browser navigated to, never from an API
// read (a workspace's preview shares this origin in path mode and could read that).
let csrf: string | null = document.querySelector(`meta[name="${CSRF_META}"]`)?.getAttribute('content') || null;

/** Sets the CSRF value (from a typed-token sign-in; null after sign-out). */
export function setCsrf(value: string | null): void {
  csrf = value;
}

/** Whether the page has a session's CSRF value (without one, no session can be used: show the sign-in). */
export function hasCsrf(): boolean {
  return csrf !== null;
}

/** The headers every API request carries: the CSRF value. */
export function authHeaders(): Record<string, string> {
  return csrf ? { [CSRF_HEADER]: csrf } : {};
}

/** Turns a failed response into a BerthError carrying the API's message. */
export async function errorOf(res: Response): Promise<BerthError> {
  const text = await res.text().catch(() => '');
  try {
    const parsed = apiErrorSchema.safeParse(JSON.parse(text));
    if (parsed.success) return BerthError.fromApi(parsed.data);
  } catch {
    // not JSON: fall through
  }
  return new BerthError('UNAVAILABLE', `The server answered ${res.status} without a berth error; is it reachable and up to date?`);
}

async function send(method: string, path: string, body?: unknown, accept = 'application/json'): Promise<Response> {
  const headers: Record<string, string> = { accept, ...authHeaders() };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(API_PREFIX + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  } catch {
    throw new BerthError('UNAVAILABLE', 'The berth server cannot be reached; check that it is running and your network, then retry.');
  }
  if (!res.ok) throw await errorOf(res);
  return res;
}

/** Calls one route of the table; the body is checked before sending and the answer after. */
export async function call<R extends RouteName>(route: R, opts: CallOptions = {}): Promise<RouteResponse<R>> {
  const def = routes[route];
  let path = fillPath(def.path, opts.params);
  const query = Object.entries(opts.query ?? {}).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '');
  if (query.length) path += '?' + new URLSearchParams(query.map(([k, v]): [string, string] => [k, String(v)])).toString();
  let body: unknown;
  if (def.body !== null) {
    const parsed = def.body.safeParse(opts.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new BerthError('INVALID_ARGUMENT', `Invalid ${issue?.path.join('.') || 'input'}: ${issue?.message ?? 'check it'}.`, {
        field: issue?.path.join('.'),
      });
    }
    body = opts.body ?? {};
  }
  const res = await send(def.method, path, body);
  const parsed = def.response.safeParse(await res.json());
  if (!parsed.success)
    throw new BerthError('PROTOCOL_MISMATCH', 'The server answered in a shape this page does not know; reload the page (the server may have been upgraded).');
  return parsed.data as RouteResponse<R>;
}

/** Follows an operation's events (NDJSON) until `done`; resolves with the final operation. */
export async function watchOperation(id: string, onEvent: (e: OperationEvent) => void, signal?: AbortSignal): Promise<Operation> {
  const res = await fetch(API_PREFIX + fillPath(streams.operationEvents, { id }), { credentials: 'same-origin', signal, headers: authHeaders() });
  if (!res.ok || !res.body) throw await errorOf(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const parsed = operationEventSchema.safeParse(JSON.parse(line));
      if (!parsed.success) continue;
      onEvent(parsed.data);
      if (parsed.data.type === 'done') return parsed.data.operation;
    }
  }
  throw new BerthError('UNAVAILABLE', "The operation's progress stream ended early; the server may have restarted. Reload to see where it stands.");
}

/** The ws:// or wss:// URL of a stream route on this page's server. */
export function socketUrl(path: string): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // A handshake cannot carry headers: the CSRF value goes in the query.
  const q = csrf ? `${path.includes('?') ? '&' : '?'}${CSRF_QUERY_PARAM}=${encodeURIComponent(csrf)}` : '';
  return `${proto}//${location.host}${API_PREFIX}${path}${q}`;
}

/** The message to show for anything thrown. */
export function messageOf(err: unknown): string {
  return err instanceof BerthError ? err.message : err instanceof Error ? err.message : String(err);
}
