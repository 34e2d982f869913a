/**
 * A validated spec with every default made explicit: what the supervisor runs and what
 * `berth spec check --json` prints. The defaults are compose's (health checks every 30 s,
 * 30 s timeout, 3 retries, no start period, 5 s start interval; restart `no`; a dependency
 * waits for `started`), so a service behaves as it would under `docker compose up`.
 */

import { dependencyMap, type Healthcheck, type ProjectSpec, type SpecCommand, type SpecPort } from './project-spec.js';
import { startWaves } from './service-graph.js';
import { parseComposeDuration } from './spec-durations.js';

/** A port with its protocol and label spelt out. */
export interface ResolvedPort {
  port: number;
  protocol: 'tcp' | 'udp';
  label: string | null;
  onAutoForward: 'notify' | 'open-browser' | 'open-preview' | 'silent' | 'ignore';
}

/** A health check with its timings in milliseconds. */
export interface ResolvedHealthcheck {
  probe: { kind: 'cmd'; argv: string[] } | { kind: 'http'; port: number; path: string; status: number[] | null } | { kind: 'tcp'; port: number };
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
  startIntervalMs: number;
}

/** One service, ready to run. */
export interface ResolvedService {
  name: string;
  argv: string[];
  env: Record<string, string>;
  workdir: string | null;
  dependsOn: Array<{ service: string; condition: 'started' | 'healthy' | 'completed'; restart: boolean }>;
  healthcheck: ResolvedHealthcheck | null;
  restart: { policy: 'no' | 'on-failure' | 'always' | 'unless-stopped'; maxRetries: number | null };
  ports: ResolvedPort[];
}

/** The services in start order (waves that may start together) and everything else of the spec. */
export interface ResolvedSpec {
  services: ResolvedService[];
  startWaves: string[][];
  ports: ResolvedPort[];
}

/** A command as argv: a string goes to `/bin/sh -c`, as compose's string form does. */
export function commandArgv(command: SpecCommand): string[] {
  return typeof command === 'string' ? ['/bin/sh', '-c', command] : [...command];
}

/** Ports in their long form. */
export function resolvePorts(ports: readonly SpecPort[] | undefined): ResolvedPort[] {
  return (ports ?? []).map((p) => {
    if (typeof p === 'number') return { port: p, protocol: 'tcp', label: null, onAutoForward: 'notify' };
    if (typeof p === 'string') {
      const [port, protocol] = p.split('/');
      return { port: Number(port), protocol: protocol === 'udp' ? 'udp' : 'tcp', label: null, onAutoForward: 'notify' };
    }
    return { port: p.port, protocol: p.protocol ?? 'tcp', label: p.label ?? null, onAutoForward: p.on_auto_forward ?? 'notify' };
  });
}

const CONDITIONS = {
  started: 'started',
  healthy: 'healthy',
  completed: 'completed',
  service_started: 'started',
  service_healthy: 'healthy',
  service_completed_successfully: 'completed',
} as const;

function ms(text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : (parseComposeDuration(text) ?? fallback);
}

function resolveHealthcheck(h: Healthcheck): ResolvedHealthcheck {
  const probe: ResolvedHealthcheck['probe'] =
    h.cmd !== undefined
      ? { kind: 'cmd', argv: commandArgv(h.cmd) }
      : h.http !== undefined
        ? typeof h.http === 'number'
          ? { kind: 'http', port: h.http, path: '/', status: null }
          : { kind: 'http', port: h.http.port, path: h.http.path ?? '/', status: h.http.status ?? null }
        : { kind: 'tcp', port: h.tcp! };
  return {
    probe,
    intervalMs: ms(h.interval, 30_000),
    timeoutMs: ms(h.timeout, 30_000),
    retries: h.retries ?? 3,
    startPeriodMs: ms(h.start_period, 0),
    startIntervalMs: ms(h.start_interval, 5_000),
  };
}

/** Resolves a spec that passed projectSpecSchema. */
export function resolveSpec(spec: ProjectSpec): ResolvedSpec {
  const services = Object.entries(spec.services ?? {}).map(([name, s]): ResolvedService => {
    const deps = Array.isArray(s.depends_on)
      ? s.depends_on.map((service) => ({ service, condition: 'started' as const, restart: false }))
      : Object.entries(s.depends_on ?? {}).map(([service, d]) => ({ service, condition: CONDITIONS[d.condition ?? 'started'], restart: d.restart ?? false }));
    const [policy, max] = (s.restart ?? 'no').split(':');
    return {
      name,
      argv: commandArgv(s.command),
      env: { ...(s.env ?? {}) },
      workdir: s.workdir ?? null,
      dependsOn: deps,
      healthcheck: s.healthcheck ? resolveHealthcheck(s.healthcheck) : null,
      restart: { policy: policy as ResolvedService['restart']['policy'], maxRetries: max === undefined ? null : Number(max) },
      ports: resolvePorts(s.ports),
    };
  });
  return { services, startWaves: startWaves(dependencyMap(spec.services ?? {})), ports: resolvePorts(spec.ports) };
}
