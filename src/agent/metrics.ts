/**
 * An agent's Prometheus metrics, served by `berth agent --metrics-listen`. One instance owns
 * one registry. Workspace counts come from the last report the agent sent (counted at scrape
 * time, not per heartbeat); requests from the server are timed by method and outcome.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type AgentMethod, agentMethods, builtinProviderKindSchema, toApiError, type WorkspaceReport, workspaceStatusSchema } from '../api/index.js';
import type { KeptTerminalStats, TerminalEndReason } from './runtime/kept-terminals.js';

/** Request durations: an inspect takes milliseconds, an image build minutes. */
export const AGENT_REQUEST_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];

const PROVIDERS = new Set<string>(builtinProviderKindSchema.options);
const STATUSES = new Set<string>(workspaceStatusSchema.options);

/** What the agent's metrics read at scrape time. */
export interface AgentLiveState {
  /** The provider of a tracked workspace. */
  providerOf(workspaceId: string): string | undefined;
  execSessions(): number;
  connected(): boolean;
  /** The web UI's kept terminals (runtime/kept-terminals.ts); absent: none are counted. */
  keptTerminals?(): KeptTerminalStats;
}

/** Why kept terminals end, each always reported (0 when none). */
const TERMINAL_END_REASONS: readonly TerminalEndReason[] = ['idle', 'closed', 'exited', 'stopped'];

/** The agent's registry and every metric in it. */
export class AgentMetrics {
  /** The registry `--metrics-listen` serves. */
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'outcome'>;
  private readonly requestDuration: Histogram<'method' | 'outcome'>;
  private readonly reconnects: Counter;
  private welcomes = 0;
  private lastWorkspaces: readonly WorkspaceReport[] = [];

  constructor(live: AgentLiveState, opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const self = this;
    new Gauge({
      name: 'berth_agent_workspaces',
      help: "Workspaces in this agent's last report, by provider and status (every pair reported, 0 when none).",
      labelNames: ['provider', 'status'],
      registers,
      collect() {
        this.reset();
        for (const p of PROVIDERS) for (const s of STATUSES) this.set({ provider: p, status: s }, 0);
        for (const w of self.lastWorkspaces) {
          const provider = live.providerOf(w.workspaceId);
          if (provider && PROVIDERS.has(provider) && STATUSES.has(w.status)) this.inc({ provider, status: w.status });
        }
      },
    });
    new Gauge({
      name: 'berth_agent_exec_sessions_open',
      help: 'Open exec sessions on this node.',
      registers,
      collect() {
        this.set(live.execSessions());
      },
    });
    new Gauge({
      name: 'berth_agent_connected',
      help: '1 while the agent holds a welcomed connection to the server, else 0.',
      registers,
      collect() {
        this.set(live.connected() ? 1 : 0);
      },
    });
    // Web UI: kept terminals, read at scrape time.
    const terminals = () => live.keptTerminals?.() ?? { open: 0, attached: 0, viewers: 0, ended: { idle: 0, closed: 0, exited: 0, stopped: 0 } };
    new Gauge({
      name: 'berth_agent_kept_terminals_open',
      help: 'Web terminals this node keeps (attached or waiting for a reattach until their idle time).',
      registers,
      collect() {
        this.set(terminals().open);
      },
    });
    new Gauge({
      name: 'berth_agent_kept_terminals_attached',
      help: 'Kept web terminals a writer (their owner) is attached to.',
      registers,
      collect() {
        this.set(terminals().attached);
      },
    });
    new Gauge({
      name: 'berth_agent_kept_terminal_viewers',
      help: 'Read-only viewers attached to kept web terminals.',
      registers,
      collect() {
        this.set(terminals().viewers);
      },
    });
    new Counter({
      name: 'berth_agent_kept_terminals_ended_total',
      help: 'Kept web terminals ended since the agent started, by reason: idle (nobody attached for the idle time), closed (by the user), exited (the shell ended), stopped (the workspace or the agent stopped).',
      labelNames: ['reason'],
      registers,
      collect() {
        const ended = terminals().ended;
        this.reset();
        for (const reason of TERMINAL_END_REASONS) this.inc({ reason }, ended[reason]);
      },
    });
    this.reconnects = new Counter({ name: 'berth_agent_reconnects_total', help: 'Welcomes from the server after the first one in this process.', registers });
    this.requests = new Counter({
      name: 'berth_agent_requests_total',
      help: 'Requests the server sent this agent, by method and outcome.',
      labelNames: ['method', 'outcome'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'berth_agent_request_duration_seconds',
      help: 'How long this agent took to answer the server, by method and outcome.',
      labelNames: ['method', 'outcome'],
      buckets: AGENT_REQUEST_BUCKETS,
      registers,
    });
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'berth_agent_' });
  }

  /** The report just sent (its workspaces are counted at the next scrape). */
  reported(report: { workspaces: readonly WorkspaceReport[] }): void {
    this.lastWorkspaces = report.workspaces;
  }

  /** The server welcomed a connection. */
  welcomed(): void {
    if (this.welcomes++ > 0) this.reconnects.inc();
  }

  /** Wraps a request handler so each request is counted and timed. */
  timeRequests<P>(handler: (method: AgentMethod, params: P) => Promise<unknown>): (method: AgentMethod, params: P) => Promise<unknown> {
    return async (method, params) => {
      const started = performance.now();
      // The peer only hands on methods of the protocol; anything else would still get a fixed label.
      const m = Object.hasOwn(agentMethods, method) ? method : 'other';
      let outcome: 'succeeded' | 'failed' | 'cancelled' = 'succeeded';
      try {
        return await handler(method, params);
      } catch (err) {
        outcome = toApiError(err).code === 'CANCELLED' ? 'cancelled' : 'failed';
        throw err;
      } finally {
        const labels = { method: m, outcome };
        this.requests.inc(labels);
        this.requestDuration.observe(labels, (performance.now() - started) / 1000);
      }
    };
  }
}
