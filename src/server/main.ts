/**
 * `berth server`: opens the store, makes the first admin, serves the API and, with
 * --local-agent, runs this machine's node agent in the same process. Resolves once it has
 * shut down cleanly after SIGTERM or SIGINT.
 */
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import {
  BERTH_VERSION,
  BerthError,
  formatHostPort,
  nodeNameFromHost,
  type PlacementStrategy,
  parseListenAddress,
  placementStrategySchema,
} from '../api/index.js';
import { DEFAULT_NODE_GRACE_MS, DEFAULT_NODE_TTL_MS, ttlProblem } from './agents/liveness.js';
import { ensureAdmin } from './auth/users.js';
import { userToApi } from './convert/to-api.js';
import { createApp } from './http/app.js';
import { registerAuditHook } from './http/audit-hook.js';
import { startPreview } from './http/preview/index.js';
import { registerJsonRoutes } from './http/routes/json-routes.js';
import { registerStreamRoutes } from './http/routes/stream-routes.js';
import { registerTrustRoutes } from './http/routes/trust-routes.js';
// Web UI: sign-in routes and the built pages.
import { registerWebRoutes } from './http/routes/web-routes.js';
import { registerWebStatic } from './http/web-static.js';
import { startServerMetrics } from './metrics/index.js';
import { createServices, type Services } from './services/index.js';
import { DEFAULT_SSH_LISTEN, startSshGateway } from './ssh-gateway/index.js';
import { openSqliteStore, type Store } from './store/open.js';
import { decideListenMode, type TlsOptions } from './tls/listen-mode.js';
import { isLoopbackHost, isWildcardHost } from './tls/names.js';
import { setUpTls } from './tls/setup.js';

/** Options of `berth server`. */
export interface ServerOptions {
  listen: string;
  dataDir: string;
  localAgent: boolean;
  logLevel?: string;
  /** Where the SSH gateway listens (`host:port`), or `off`; default 127.0.0.1:2222. */
  sshListen?: string;
  /** The host name clients should dial for the gateway, when it differs from the listen host. */
  sshAdvertise?: string;
  /** TLS of the API (and the agent socket): see src/server/tls/listen-mode.ts. */
  tls?: TlsOptions;
  /** How the scheduler picks among fitting nodes; default spread. */
  placement?: PlacementStrategy;
  /** Heartbeat silence before a node is offline (default $BERTH_NODE_TTL_MS, else 15 s)... */
  nodeTtlMs?: number;
  /** ...plus this grace (default $BERTH_NODE_GRACE_MS, else 5 s). */
  nodeGraceMs?: number;
  /** How long an unknown workspace must keep being reported before it is reaped (default 60 s). */
  reapGraceMs?: number;
  /** Metrics: also serve GET /metrics without authentication on this address (HOST:PORT, a bare port is loopback). */
  metricsListen?: string;
  /** Previews: the wildcard base domain of subdomain previews (`PORT--NAME--USER.BASE`). */
  previewDomain?: string;
}

/** A whole number of milliseconds from an environment variable, or undefined when unset. */
function envMs(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new BerthError('INVALID_ARGUMENT', `${name} must be a whole number of milliseconds, not "${raw}".`, { field: name });
  return n;
}

/** Runs the coordination server until a termination signal. */
export async function runServer(opts: ServerOptions): Promise<void> {
  const log = pino({ level: opts.logLevel ?? process.env.BERTH_LOG_LEVEL ?? 'info', base: { pid: process.pid } });
  const address = parseListenAddress(opts.listen, 'listen');
  // A refused TLS/listen combination is reported before anything (even the data dir) is made.
  decideListenMode(address.host, opts.tls ?? {});
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    throw new BerthError(
      'FAILED_PRECONDITION',
      `Cannot create the data dir ${opts.dataDir} (${err.code ?? err.message}); pass --data-dir a directory this user may write.`,
      {
        field: 'dataDir',
        cause: err,
      },
    );
  });
  // TLS is settled before the store opens, so a refused combination leaves nothing open.
  const tls = await setUpTls(address.host, opts.dataDir, opts.tls ?? {}, log);
  const store = await openSqliteStore(join(opts.dataDir, 'berth.db'));
  const heartbeatMs = Number(process.env.BERTH_HEARTBEAT_MS ?? 5000);
  const timing = {
    heartbeatMs,
    ttlMs: opts.nodeTtlMs ?? envMs('BERTH_NODE_TTL_MS') ?? DEFAULT_NODE_TTL_MS,
    graceMs: opts.nodeGraceMs ?? envMs('BERTH_NODE_GRACE_MS') ?? DEFAULT_NODE_GRACE_MS,
  };
  const unsafe = ttlProblem(timing);
  if (unsafe) {
    await store.close();
    throw new BerthError('INVALID_ARGUMENT', `Refusing to start: ${unsafe}. Raise --node-ttl or lower BERTH_HEARTBEAT_MS.`, { field: 'nodeTtl' });
  }
  const placement = opts.placement ?? placementStrategySchema.parse(process.env.BERTH_PLACEMENT ?? 'spread');
  const services = createServices(store, log, {
    heartbeatMs,
    nodeTtlMs: timing.ttlMs,
    nodeGraceMs: timing.graceMs,
    placement,
    caFingerprint: tls?.fingerprint,
    reapGraceMs: opts.reapGraceMs,
  });
  services.liveness.start();
  services.fleetHeap.start(() => services.hub.connectionCount);
  log.info({ placement, heartbeatMs, nodeTtlMs: timing.ttlMs, nodeGraceMs: timing.graceMs }, 'placement and failure detection settings');
  const interrupted = await services.ops.failInterrupted();
  if (interrupted > 0) log.warn({ count: interrupted }, 'marked operations interrupted by the last shutdown as failed');
  const unsettled = await services.workspaces.recoverInterrupted();
  if (unsettled > 0) log.warn({ count: unsettled }, 'settled workspaces left mid-operation by the last shutdown');

  const tokenFile = join(opts.dataDir, 'admin-token');
  if (await ensureAdmin(store, tokenFile)) log.info({ tokenFile }, 'created the admin account; its API token is in the token file (mode 0600)');

  const gateway = await startSshGateway({
    listen: opts.sshListen ?? DEFAULT_SSH_LISTEN,
    advertise: opts.sshAdvertise,
    dataDir: opts.dataDir,
    store,
    services,
    log,
  });
  // Metrics: the registry, instrumented services and the optional plain listener; nothing stays open when it cannot listen.
  const metrics = await startServerMetrics({ store, services, gateway, listen: opts.metricsListen, log }).catch(async (err: unknown) => {
    await gateway?.close().catch(() => {});
    await store.close();
    throw err;
  });
  const app = await createApp(log, tls ?? undefined);
  metrics.instrumentApp(app);
  registerJsonRoutes(app, store, services);
  registerTrustRoutes(app, store, services, tls ? { certificate: tls.caPem, fingerprint: tls.fingerprint } : null);
  registerStreamRoutes(app, store, services);
  // Web UI.
  registerWebRoutes(app, store, services);
  await registerWebStatic(app);
  registerAuditHook(app, services.audit);
  // HTTP previews (/w/NAME/p/PORT/, and PORT--NAME--USER.BASE with --preview-domain): last, in front of every route.
  await startPreview(app, store, services, { dataDir: opts.dataDir, domain: opts.previewDomain, tls: !!tls }, log);
  try {
    await app.listen(address);
  } catch (err) {
    // Nothing half-started stays behind: the gateway's port and the database are released.
    await gateway?.close().catch(() => {});
    await metrics.close();
    await app.close().catch(() => {});
    await store.close();
    const code = (err as NodeJS.ErrnoException).code;
    throw new BerthError(
      'FAILED_PRECONDITION',
      `The server cannot listen on ${formatHostPort(address)}${code ? ` (${code})` : ''}; pick another address with --listen HOST:PORT, or stop what uses it.`,
      {
        field: 'listen',
        cause: err,
      },
    );
  }
  const url = `${tls ? 'https' : 'http'}://${formatHostPort(address)}`;
  log.info({ url, version: BERTH_VERSION, dataDir: opts.dataDir, caFingerprint: tls?.fingerprint }, 'berth server listening');
  if (!tls && !isLoopbackHost(address.host))
    log.warn({ url }, 'serving plain HTTP on a non-loopback address (--insecure-http): tokens cross the network unencrypted');

  // The local agent dials loopback (a wildcard address is not in the certificate) and trusts the CA directly.
  const selfUrl = `${tls ? 'https' : 'http'}://${formatHostPort(isWildcardHost(address.host) ? { host: '127.0.0.1', port: address.port } : address)}`;
  const stopAgent = opts.localAgent ? await startLocalAgent(selfUrl, tls?.caPem, opts.dataDir, store, services, log) : null;

  await new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      log.info({ signal: sig }, 'shutting down');
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await gateway?.close().catch((err: unknown) => log.warn({ err }, 'ssh gateway did not close cleanly'));
  await metrics.close();
  await shutdown(app, store, services, stopAgent, log);
}

async function shutdown(
  app: Awaited<ReturnType<typeof createApp>>,
  store: Store,
  services: Services,
  stopAgent: (() => Promise<void>) | null,
  log: Logger,
): Promise<void> {
  await stopAgent?.().catch((err) => log.warn({ err }, 'local agent did not stop cleanly'));
  services.liveness.stop();
  services.fleetHeap.stop();
  services.hub.closeAll();
  await app.close();
  await store.close();
  log.info('stopped');
}

/**
 * Runs this machine's agent in-process. It joins like any other agent, over the server's own
 * socket, so a single-machine install exercises the same path as a fleet.
 */
async function startLocalAgent(
  url: string,
  caPem: string | undefined,
  dataDir: string,
  store: Store,
  services: Services,
  log: Logger,
): Promise<() => Promise<void>> {
  const { startAgent, hasCredential } = await import('../agent/main.js');
  const stateDir = join(dataDir, 'local-agent');
  let joinToken: string | undefined;
  if (!(await hasCredential(stateDir))) {
    const admin = await store.db.selectFrom('users').selectAll().where('role', '=', 'admin').orderBy('created_at').executeTakeFirstOrThrow();
    joinToken = (await services.nodes.mintJoinToken(userToApi(admin), 300)).token;
  }
  const name = nodeNameFromHost(process.env.BERTH_LOCAL_NODE_NAME ?? hostname());
  const agent = await startAgent({ server: url, joinToken, stateDir, name, caPem, logger: log.child({ component: 'local-agent' }) });
  // Port sessions to this node skip the loopback agent socket (agents/local-link.ts).
  services.hub.useLocalConnector(agent.nodeId, agent.connectPort);
  return () => agent.stop();
}
