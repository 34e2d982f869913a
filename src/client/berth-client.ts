/**
 * The typed berth client: every JSON route from the route table, operation event streams
 * and exec sessions. The CLI uses it today and the web UI will tomorrow, so it knows nothing
 * about terminals or config files.
 */
import type { Duplex } from 'node:stream';
import {
  API_PREFIX,
  BerthError,
  type ExecRequest,
  fillPath,
  fromZodError,
  type Operation,
  type OperationEvent,
  operationEventSchema,
  type RouteName,
  type RouteResponse,
  routes,
  type ServiceLogsFrame,
  type ServiceLogsQuery,
  serviceLogsFrameSchema,
  streams,
  type Workspace,
  type WorkspaceCreateBody,
  type WorkspaceCreateEvent,
  workspaceCreateEventSchema,
} from '../api/index.js';
import type { ExecIO } from './exec-session.js';
import { errorFromResponse, isCertError, isNetworkError, unreachableError } from './failures.js';
import { type HttpAnswer, httpRequest } from './http-request.js';
import { readNdjsonLines } from './ndjson.js';
import { normalizeServerUrl, toWebSocketUrl } from './server-url.js';
import type { PinnedCa } from './tls-pin.js';

/** How to reach a berth server. */
export interface BerthClientOptions {
  /** Server address, e.g. `http://127.0.0.1:7080`; a bare `host:port` means http. */
  server: string;
  /** API token sent as `Authorization: Bearer`. */
  token?: string;
  /** The server's pinned CA (https only): every connection must verify against exactly it. */
  ca?: PinnedCa;
}

/** Path parameters and JSON body of one call. */
export interface CallOptions {
  params?: Record<string, string>;
  body?: unknown;
  /** Query parameters, for routes that take them (undefined values are left out). */
  query?: Record<string, string | number | undefined>;
}

/**
 * How often in a row watchOperation reopens an event stream that dropped before the operation
 * ended without bringing a new event; a stream that did bring one starts the count afresh.
 */
const EVENT_STREAM_RECONNECTS = 6;
/** The pause before reopening, doubling from the first to the last (a loaded server gets room to breathe). */
const EVENT_STREAM_BACKOFF_MS = { first: 250, max: 4000 };

/** A client for one berth server, speaking exactly the contract in src/api. */
export class BerthClient {
  /** The normalised server address (no trailing slash). */
  readonly server: string;
  readonly #token: string | undefined;
  /** The pinned CA, when the server is https and one is pinned. */
  readonly ca: PinnedCa | undefined;

  constructor(opts: BerthClientOptions) {
    this.server = normalizeServerUrl(opts.server);
    this.#token = opts.token;
    this.ca = opts.ca;
  }

  /** Calls one route of the route table; validates the body before sending and the response after. */
  async call<R extends RouteName>(route: R, opts: CallOptions = {}): Promise<RouteResponse<R>> {
    const def = routes[route];
    let path = fillPath(def.path, opts.params);
    const query = Object.entries(opts.query ?? {}).filter((e): e is [string, string | number] => e[1] !== undefined);
    if (query.length) path += '?' + new URLSearchParams(query.map(([k, v]): [string, string] => [k, String(v)])).toString();
    let body: string | undefined;
    if (def.body !== null) {
      // The server validates too; checking here first gives the same message without a round trip.
      const parsed = def.body.safeParse(opts.body ?? {});
      if (!parsed.success) throw fromZodError(parsed.error);
      body = JSON.stringify(opts.body ?? {});
    }
    const response = await this.#fetch(path, { method: def.method, body });
    const text = await response.text();
    if (!response.ok) throw errorFromResponse(response.status, text, `${def.method} ${API_PREFIX}${path}`);
    const parsed = def.response.safeParse(parseJson(text));
    if (!parsed.success) {
      throw new BerthError(
        'PROTOCOL_MISMATCH',
        `The server's answer to ${def.method} ${API_PREFIX}${path} does not match what this client expects; are client and server the same version?`,
        { detail: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') },
      );
    }
    return parsed.data as RouteResponse<R>;
  }

  /**
   * Follows an operation's events until it is done and resolves with the final operation,
   * failed or not; the caller decides what a failure means. Events already seen are not
   * repeated when the stream has to be reopened.
   */
  async watchOperation(id: string, onEvent: (e: OperationEvent) => void): Promise<Operation> {
    let seen = 0;
    for (let attempt = 0; ; attempt++) {
      const before = seen;
      const done = await this.#readEvents(id, (event, index) => {
        // The events route replays from the start, so skip what an earlier attempt delivered.
        if (index < seen) return;
        seen = index + 1;
        onEvent(event);
      });
      if (done) return done;
      // The stream ended without `done` (a proxy timeout, a server restart): ask directly.
      const op = await this.call('operationGet', { params: { id } });
      if (op.status !== 'running') return op;
      if (seen > before) attempt = 0;
      if (attempt >= EVENT_STREAM_RECONNECTS) {
        throw new BerthError('INTERNAL', `The event stream of operation ${id} keeps ending before the operation finishes; check it later with its id.`);
      }
      await new Promise((r) => setTimeout(r, Math.min(EVENT_STREAM_BACKOFF_MS.first * 2 ** attempt, EVENT_STREAM_BACKOFF_MS.max)));
    }
  }

  /**
   * Creates a workspace and follows its operation in the same request (the server streams the
   * events), resolving with the final operation, failed or not, and the workspace when it
   * succeeded. `onAccepted` hears the operation as soon as the server took it. Should the
   * stream break after that, the operation is followed and the workspace read the usual way.
   */
  async createWorkspace(
    body: WorkspaceCreateBody,
    onEvent: (e: OperationEvent) => void = () => {},
    onAccepted: (accepted: { workspace: Workspace; operation: Operation }) => void = () => {},
  ): Promise<{ operation: Operation; workspace: Workspace | null }> {
    const def = routes.workspacesPost;
    const parsedBody = def.body.safeParse(body);
    if (!parsedBody.success) throw fromZodError(parsedBody.error);
    const response = await this.#fetch(def.path, { method: def.method, body: JSON.stringify(body), accept: 'application/x-ndjson' });
    if (!response.ok) throw errorFromResponse(response.status, await response.text(), `${def.method} ${API_PREFIX}${def.path}`);
    let accepted: { workspace: Workspace; operation: Operation } | undefined;
    let seen = 0;
    const done = await this.#readLines(response, workspaceCreateEventSchema, (e: WorkspaceCreateEvent) => {
      if (e.type === 'accepted') {
        accepted = { workspace: e.workspace, operation: e.operation };
        onAccepted(accepted);
        return undefined;
      }
      if (e.type === 'done') return { operation: e.operation, workspace: e.workspace };
      seen++;
      onEvent(e);
      return undefined;
    });
    if (done) return done;
    if (!accepted) throw new BerthError('INTERNAL', 'The server ended the answer to the workspace create before saying whether it took it; see `berth ws ls`.');
    // The stream broke after the server took the create: follow the operation instead,
    // skipping the events this caller already heard.
    let skip = seen;
    const operation = await this.watchOperation(accepted.operation.id, (e) => {
      if (e.type !== 'done' && skip-- > 0) return;
      if (e.type !== 'done') onEvent(e);
    });
    const workspace = operation.status === 'succeeded' ? await this.call('workspaceGet', { params: { name: body.name } }) : null;
    return { operation, workspace };
  }

  /** Like watchOperation, but throws the operation's error when it failed. */
  async waitOperation(id: string, onEvent: (e: OperationEvent) => void = () => {}): Promise<Operation> {
    const op = await this.watchOperation(id, onEvent);
    if (op.status === 'failed') {
      throw op.error ? BerthError.fromApi(op.error) : new BerthError('INTERNAL', `Operation ${id} failed without saying why.`);
    }
    return op;
  }

  /** Runs a command in a workspace over the exec WebSocket; resolves with its exit code. */
  async exec(name: string, request: ExecRequest, io: ExecIO): Promise<number> {
    const path = fillPath(streams.workspaceExec, { name });
    const url = toWebSocketUrl(`${this.server}${API_PREFIX}${path}`);
    // The WebSocket library is loaded only by the commands that exec.
    const { runExecSession } = await import('./exec-session.js');
    return runExecSession({ url, server: this.server, token: this.#token, ca: this.ca?.pem, onCertError: (err) => this.#certFailure(err) }, request, io);
  }

  /** One TCP connection to `port` on the workspace's loopback, made by its node, as a Duplex (see port-stream.ts). */
  async connectPort(name: string, port: number): Promise<Duplex> {
    const path = fillPath(streams.workspacePortConnect, { name, port: String(port) });
    const url = toWebSocketUrl(`${this.server}${API_PREFIX}${path}`);
    const { openPortStream } = await import('./port-stream.js');
    return openPortStream({ url, server: this.server, token: this.#token, ca: this.ca?.pem, onCertError: (err) => this.#certFailure(err) });
  }

  /**
   * Workspace services: streams a service's logs (`berth svc logs`), handing each chunk of
   * output to `onData`, until the server ends the stream (with `follow`, until the caller
   * stops reading). Throws the error the server sent.
   */
  async serviceLogs(name: string, service: string, query: ServiceLogsQuery, onData: (text: string) => void): Promise<void> {
    const q = Object.entries(query).filter((e): e is [string, string | number] => e[1] !== undefined);
    const path =
      fillPath(streams.workspaceServiceLogs, { name, service }) +
      (q.length ? '?' + new URLSearchParams(q.map(([k, v]): [string, string] => [k, String(v)])).toString() : '');
    const response = await this.#fetch(path, { method: 'GET', accept: 'application/x-ndjson' });
    if (!response.ok) throw errorFromResponse(response.status, await response.text(), `GET ${API_PREFIX}${path}`);
    const ended = await this.#readLines(response, serviceLogsFrameSchema, (f: ServiceLogsFrame) => {
      if (f.type === 'data') return void onData(f.data);
      if (f.type === 'error') throw BerthError.fromApi(f.error);
      return true;
    });
    if (!ended) throw new BerthError('UNAVAILABLE', `The log stream of ${service} in ${name} was cut off; run the command again.`);
  }

  /** Reads one pass of the event stream; returns the final operation, or undefined when the stream ended early. */
  async #readEvents(id: string, onEvent: (e: OperationEvent, index: number) => void): Promise<Operation | undefined> {
    const path = fillPath(streams.operationEvents, { id });
    const response = await this.#fetch(path, { method: 'GET', accept: 'application/x-ndjson' });
    if (!response.ok) throw errorFromResponse(response.status, await response.text(), `GET ${API_PREFIX}${path}`);
    let index = 0;
    return this.#readLines(response, operationEventSchema, (e: OperationEvent) => {
      onEvent(e, index++);
      return e.type === 'done' ? e.operation : undefined;
    });
  }

  /**
   * Reads newline-delimited events of `schema` from a response, handing each to `onEvent`
   * until it returns a result; undefined when the stream ended (or dropped) before that.
   */
  async #readLines<E, T>(
    response: HttpAnswer,
    schema: { safeParse(v: unknown): { success: true; data: E } | { success: false } },
    onEvent: (e: E) => T | undefined,
  ): Promise<T | undefined> {
    try {
      for await (const value of readNdjsonLines(response.body)) {
        const parsed = schema.safeParse(value);
        if (!parsed.success) {
          throw new BerthError(
            'PROTOCOL_MISMATCH',
            `The server sent an operation event this client does not understand; are client and server the same version?`,
            {
              detail: JSON.stringify(value).slice(0, 200),
            },
          );
        }
        const result = onEvent(parsed.data);
        if (result !== undefined) return result;
      }
    } catch (err) {
      if (err instanceof BerthError) throw err;
      if (err instanceof SyntaxError) {
        throw new BerthError('PROTOCOL_MISMATCH', 'The server sent an operation event that is not JSON.', { detail: err.message });
      }
      // A dropped connection mid-stream is not fatal: the caller asks again.
      if (isNetworkError(err) || isAbort(err)) return undefined;
      throw err;
    } finally {
      await response.body.cancel().catch(() => {});
    }
    return undefined;
  }

  async #fetch(path: string, opts: { method: string; body?: string; accept?: string }): Promise<HttpAnswer> {
    const headers: Record<string, string> = { accept: opts.accept ?? 'application/json' };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    try {
      return await httpRequest(`${this.server}${API_PREFIX}${path}`, { method: opts.method, headers, body: opts.body, ca: this.ca?.pem });
    } catch (err) {
      if (isCertError(err)) throw await this.#certFailure(err);
      if (isNetworkError(err)) throw unreachableError(this.server, err);
      throw err;
    }
  }

  /** The clear error for a certificate the pinned CA does not vouch for, naming both fingerprints. */
  async #certFailure(err: unknown): Promise<BerthError> {
    const { certificateFailure } = await import('./tls-pin.js');
    return certificateFailure(this.server, this.ca?.fingerprint, err);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isAbort(err: unknown): boolean {
  // undici reports a body cut off mid-stream as TypeError('terminated').
  return err instanceof Error && (err.name === 'AbortError' || err.message === 'terminated');
}
