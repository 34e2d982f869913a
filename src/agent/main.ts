/**
 * `berth agent`: joins the server once (trading the join token for a credential kept in the
 * state dir), recovers what this node runs, then stays connected and serves the server's
 * requests until SIGTERM or SIGINT.
 */
import { readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import { type Logger, pino } from 'pino';
import { agentMethods, BerthError, isConnectString, nodeNameFromHost, parseConnectString } from '../api/index.js';
import { type MetricsListener, startMetricsListener } from '../metrics/listener.js';
import { createNodeBackends } from '../providers/registry.js';
import type { RequestHandler } from '../rpc/peer.js';
import { Dialer } from './connection/dialer.js';
import { joinServer } from './connection/join.js';
import { fetchPinnedCa } from './connection/trust.js';
import { AgentMetrics } from './metrics.js';
import { checkPluginSources, loadPlugins } from './plugins.js';
import { PORT_POLL_MS, PortWatcher } from './runtime/port-watch.js';
import { AgentRuntime } from './runtime/runtime.js';
import { AgentState } from './state.js';

/** Options of `berth agent`. */
export interface AgentOptions {
  /** The server URL; optional when the join token is a one-string token (it names the server) or the node already joined. */
  server?: string;
  /** A one-string token (`berth1.…`, holding URL, token and CA fingerprint) or a bare token for a plain-HTTP server. */
  joinToken?: string;
  /** The server's CA, given directly (the in-process local agent); skips the fingerprint check. */
  caPem?: string;
  /** A file holding the join token (mode 0600, as `berth node add` writes it); removed once the node has joined. */
  joinTokenFile?: string;
  stateDir: string;
  name?: string;
  logLevel?: string;
  /** Used when the server runs the agent in-process. */
  logger?: Logger;
  /** Serve this agent's GET /metrics without authentication here (HOST:PORT; a bare port is loopback). */
  metricsListen?: string;
  /** Provider plugins to load (paths or package names; see docs/plugins.md). */
  plugins?: string[];
}

/** A running agent. */
export interface RunningAgent {
  readonly nodeId: string;
  /** Settles when the server revoked this node's credential (the agent then stops dialling). */
  readonly revoked: Promise<string>;
  stop(): Promise<void>;
  /** Opens a TCP connection to a port in one of this node's workspaces (the server's in-process link to its local agent). */
  connectPort(workspaceId: string, port: number): Promise<Duplex>;
}

/** True when the state dir already holds a node credential. */
export async function hasCredential(stateDir: string): Promise<boolean> {
  return (await new AgentState(stateDir).loadCredential()) !== null;
}

/** Joins if needed, recovers workspaces and connects. Resolves once recovery is done and dialling has begun. */
export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const log = opts.logger ?? pino({ level: opts.logLevel ?? process.env.BERTH_LOG_LEVEL ?? 'info', base: { component: 'agent' } });
  const state = new AgentState(opts.stateDir);
  await state.init();

  let saved = await state.loadCredential();
  const joinToken = opts.joinToken ?? (opts.joinTokenFile && !saved ? await readJoinTokenFile(opts.joinTokenFile) : undefined);
  if (saved && opts.joinToken) log.info('this node already joined; ignoring --join-token');
  if (!saved) {
    if (!joinToken) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        'This node has not joined a server yet: pass --join-token (an admin mints one with `berth node join-token`), or point --state-dir at the state of an agent that joined.',
        { field: 'join-token' },
      );
    }
    const target = await resolveJoinTarget({ ...opts, joinToken });
    // The CA is checked and saved before the join: the credential is only ever sent to a
    // server the pinned CA vouches for.
    if (target.ca) await state.saveCa(target.ca);
    const joined = await joinServer(target.server, target.token, opts.name ?? nodeNameFromHost(hostname()), target.ca);
    saved = { server: target.server, ...joined };
    await state.saveCredential(saved);
    log.info({ node: joined.nodeName, server: target.server, tls: !!target.ca }, 'joined the server');
  }
  const ca = opts.caPem ?? (await state.loadCa()) ?? undefined;
  if ((opts.server ?? saved.server).startsWith('https:') && !ca) {
    throw new BerthError(
      'FAILED_PRECONDITION',
      `This node joined ${saved.server} but its pinned CA (ca.pem in ${opts.stateDir}) is missing; restore it, or join again with a new one-string token.`,
      { field: 'state-dir' },
    );
  }
  // A used (or, once joined, useless) token is not left lying around.
  if (opts.joinTokenFile) await rm(opts.joinTokenFile, { force: true });

  // Plugins load before anything else runs: a plugin that fails leaves its provider unusable, never the agent down.
  const plugins = await loadPlugins(checkPluginSources(opts.plugins ?? []));
  const backends = await createNodeBackends({
    nodeId: saved.nodeId,
    dockerSocket: process.env.BERTH_DOCKER_SOCKET || undefined,
    stateDir: opts.stateDir,
    plugins,
    log,
  });
  let dialer: Dialer | null = null;
  const runtime = new AgentRuntime(state, backends, log, {
    emit: (name, payload) => dialer?.emit(name, payload),
    sendBinary: (frame) => dialer?.sendBinary(frame),
    bufferedAmount: () => dialer?.bufferedAmount() ?? 0,
    reportNow: async () => dialer?.reportNow(),
  });
  await runtime.recover();
  // Metrics only when asked for: an agent without --metrics-listen (and the server's local agent) keeps none.
  const metrics = opts.metricsListen
    ? new AgentMetrics({
        providerOf: (id) => runtime.providerOf(id),
        execSessions: () => runtime.execSessionCount,
        connected: () => dialer?.connected ?? false,
        keptTerminals: () => runtime.keptTerminalStats(),
      })
    : null;
  let onRevoked: (why: string) => void = () => {};
  const revoked = new Promise<string>((resolve) => (onRevoked = resolve));
  const credentialOnDisk = saved;
  dialer = new Dialer({
    // A later --server wins over the URL saved at the join (the local agent's port may change).
    server: opts.server ?? saved.server,
    credential: saved.credential,
    ca,
    log,
    onRevoked: (why) => onRevoked(why),
    report: async () => {
      const report = await runtime.report();
      metrics?.reported(report);
      return report;
    },
    onWelcome: () => {
      metrics?.welcomed();
      ports.resendAll();
      runtime.resendServices();
    },
    onRequest: timed(metrics, async (method, params) => {
      if (method !== 'credential.rotate') return runtime.handle(method, params);
      // Saved (temporary file + rename) before answering: the server retires the old
      // credential only after this answer, so either one or the other always works.
      const { credential } = agentMethods['credential.rotate'].params.parse(params);
      await state.saveCredential({ ...credentialOnDisk, credential });
      dialer?.setCredential(credential);
      log.info('saved a rotated node credential');
      return { saved: true as const };
    }),
    // Web UI: sessions attached through a lost connection are gone; kept terminals wait for a reattach.
    onDisconnected: () => runtime.serverGone(),
    onEvent: (name, payload) => runtime.onEvent(name, payload),
    onBinary: (frame) => runtime.onBinary(frame),
  });
  const ports = new PortWatcher(
    () => runtime.portTargets(),
    (name, payload) => dialer?.emit(name, payload),
    log,
    pollMs('BERTH_PORT_POLL_MS', PORT_POLL_MS),
  );
  ports.start();
  let metricsListener: MetricsListener | null = null;
  if (metrics && opts.metricsListen) {
    try {
      metricsListener = await startMetricsListener({ listen: opts.metricsListen, registry: metrics.registry, log });
    } catch (err) {
      runtime.closeAll();
      dialer.stop();
      throw err;
    }
  }
  void dialer.start();
  return {
    nodeId: saved.nodeId,
    revoked,
    connectPort: (workspaceId, port) => runtime.connectPort(workspaceId, port),
    stop: async () => {
      ports.stop();
      runtime.closeAll();
      dialer?.stop();
      await metricsListener?.close();
    },
  };
}

/** The request handler, timed into the agent's metrics when it keeps any. */
function timed(metrics: AgentMetrics | null, handler: RequestHandler): RequestHandler {
  return metrics ? metrics.timeRequests(handler) : handler;
}

/** The token in a join token file, trimmed; FAILED_PRECONDITION naming the file when it cannot be read. */
async function readJoinTokenFile(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new BerthError(
      'FAILED_PRECONDITION',
      `Cannot read the join token file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); mint a new token with \`berth node join-token\` or run \`berth node add\` again.`,
      {
        field: 'join-token-file',
        cause: err,
      },
    );
  }
}

/** Runs the agent until a termination signal. */
export async function runAgent(opts: AgentOptions): Promise<void> {
  const agent = await startAgent(opts);
  let done = () => {};
  const signalled = new Promise<void>((resolve) => (done = resolve));
  process.on('SIGTERM', done);
  process.on('SIGINT', done);
  const why = await Promise.race([signalled.then(() => null), agent.revoked]);
  process.off('SIGTERM', done);
  process.off('SIGINT', done);
  await agent.stop();
  if (why !== null) {
    throw new BerthError(
      'UNAUTHENTICATED',
      `This node's credential is no longer accepted (${why}); the agent stopped. Join the machine again with a new token from \`berth node join-token\`.`,
      { field: 'credential' },
    );
  }
}

/**
 * Where to join and which CA to trust. A one-string token names the server and pins its CA's
 * fingerprint (--server may override the URL, e.g. an address only this machine uses; the
 * fingerprint still decides). A bare token needs --server and works only over plain HTTP:
 * an https server with nothing pinned would mean trusting whatever answers.
 */
async function resolveJoinTarget(opts: AgentOptions): Promise<{ server: string; token: string; ca?: string }> {
  const given = opts.joinToken!;
  if (!isConnectString(given)) {
    if (!opts.server)
      throw new BerthError('INVALID_ARGUMENT', 'A bare join token needs --server URL; or use the one-string token `berth node join-token` prints.', {
        field: 'server',
      });
    if (opts.server.startsWith('https:') && !opts.caPem) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `${opts.server} is https, and a bare join token pins no CA; use the one-string token \`berth node join-token\` prints (it holds the CA fingerprint).`,
        { field: 'join-token' },
      );
    }
    return { server: opts.server, token: given, ca: opts.caPem };
  }
  const parsed = parseConnectString(given, 'join', 'join-token');
  const server = opts.server ?? parsed.server;
  if (!server.startsWith('https:')) {
    if (parsed.fingerprint) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `The join token pins a CA (${parsed.fingerprint}) but the server URL ${server} is plain HTTP; use the server's https:// URL.`,
        { field: 'server' },
      );
    }
    return { server, token: parsed.secret };
  }
  if (opts.caPem) return { server, token: parsed.secret, ca: opts.caPem };
  if (!parsed.fingerprint) {
    throw new BerthError(
      'FAILED_PRECONDITION',
      `The join token pins no CA, but ${server} is https; mint a new token with \`berth node join-token\` against the https URL.`,
      { field: 'join-token' },
    );
  }
  return { server, token: parsed.secret, ca: await fetchPinnedCa(server, parsed.fingerprint) };
}

/** A poll interval from the environment (tests make it short), or the default. */
function pollMs(name: string, fallback: number): number {
  const ms = Number(process.env[name]);
  return Number.isInteger(ms) && ms >= 50 && ms <= 60_000 ? ms : fallback;
}
