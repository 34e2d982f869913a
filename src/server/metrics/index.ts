/** Metrics in `berth server`: one registry per server, wired to its services, the API and the optional plain listener. */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { type MetricsListener, startMetricsListener } from '../../metrics/listener.js';
import type { Services } from '../services/index.js';
import type { SshGateway } from '../ssh-gateway/index.js';
import type { Store } from '../store/open.js';
import { instrumentApp } from './http.js';
import { ServerMetrics } from './server-metrics.js';

export { ServerMetrics } from './server-metrics.js';

/** The server's metrics once started. */
export interface RunningServerMetrics {
  readonly metrics: ServerMetrics;
  /** The plain listener, when `--metrics-listen` was given. */
  readonly listener: MetricsListener | null;
  /** Times the app's responses and adds `GET /api/v1/metrics`; call before any route is added. */
  instrumentApp(app: FastifyInstance): void;
  /** Closes the plain listener. */
  close(): Promise<void>;
}

/**
 * Makes the registry, hooks it into the hub, the operations and the SSH gateway, and starts
 * the plain listener when `listen` is given (FAILED_PRECONDITION when it cannot bind).
 */
export async function startServerMetrics(opts: {
  store: Store;
  services: Services;
  gateway: SshGateway | null;
  listen?: string;
  log: Logger;
}): Promise<RunningServerMetrics> {
  const { store, services, gateway } = opts;
  const metrics = new ServerMetrics(store);
  services.hub.instrument(metrics);
  services.ops.instrument(metrics);
  metrics.readLiveCounts({
    agentConnections: () => services.hub.connectionCount,
    execSessions: () => services.hub.execSessionCount,
    gatewaySessions: () => gateway?.sessionCount ?? 0,
  });
  const listener = opts.listen
    ? await startMetricsListener({ listen: opts.listen, registry: metrics.registry, log: opts.log.child({ component: 'metrics' }) })
    : null;
  return {
    metrics,
    listener,
    instrumentApp: (app) => instrumentApp(app, store, metrics),
    close: async () => {
      await listener?.close();
    },
  };
}
