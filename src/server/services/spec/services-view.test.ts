import { describe, expect, it } from 'vitest';
import { projectSpecSchema, type SupervisorState } from '../../../api/index.js';
import { portOwner, servicesView } from './services-view.js';
import { parseStoredSpec, withSpecDefaults } from './stored-spec.js';

const spec = projectSpecSchema.parse({
  ports: [{ port: 3000, label: 'docs' }],
  services: {
    web: { command: 'httpd', depends_on: { db: { condition: 'healthy' } }, ports: [{ port: 8080, label: 'site' }] },
    db: { command: 'db', healthcheck: { tcp: 5432 }, ports: [5432] },
    job: { command: 'true', restart: 'no' },
  },
});

const live = (name: string, state: SupervisorState['services'][number]['state'], pid: number | null) => ({
  name,
  state,
  pid,
  restarts: 1,
  exitCode: null,
  startedAt: null,
  healthFailures: 0,
  lastHealthOutput: null,
  message: null,
});
const state: SupervisorState = {
  supervisorPid: 1,
  configVersion: 'x',
  services: [live('db', 'healthy', 20), live('web', 'running', 30), live('job', 'completed', null)],
};

describe('servicesView', () => {
  it('lists the services in start order with their state, health and ports', () => {
    const v = servicesView(spec, state);
    expect(v.map((s) => s.name)).toEqual(['db', 'job', 'web']);
    expect(v[0]).toMatchObject({ state: 'healthy', health: 'healthy', pid: 20, restarts: 1, ports: [{ port: 5432, protocol: 'tcp', label: null }] });
    expect(v[2]).toMatchObject({ state: 'running', health: null, dependsOn: ['db'], ports: [{ port: 8080, label: 'site' }] });
  });

  it('shows the spec with no state before the first report, and nothing without services', () => {
    expect(servicesView(spec, null).every((s) => s.state === null && s.pid === null)).toBe(true);
    expect(servicesView(null, state)).toEqual([]);
  });
});

describe('portOwner', () => {
  it('names the service that declares a port, with its label', () => {
    expect(portOwner({ port: 8080, protocol: 'tcp', process: null }, spec, null)).toEqual({ service: 'web', label: 'site' });
    expect(portOwner({ port: 8080, protocol: 'udp', process: null }, spec, null)).toEqual({ service: null, label: null });
  });

  it('else the service whose process group holds the listener', () => {
    expect(portOwner({ port: 9999, protocol: 'tcp', process: { pid: 30, name: 'httpd' } }, spec, state)).toEqual({ service: 'web', label: null });
    expect(portOwner({ port: 9999, protocol: 'tcp', process: { pid: 31, name: 'worker' } }, spec, state, () => 20)).toEqual({ service: 'db', label: null });
    expect(portOwner({ port: 3000, protocol: 'tcp', process: { pid: 99, name: 'x' } }, spec, state)).toEqual({ service: null, label: 'docs' });
    // The node's scan gives the process group (a child of the db service, whose leader is 20).
    expect(portOwner({ port: 9999, protocol: 'tcp', process: { pid: 31, name: 'worker', group: 20 } }, spec, state)).toEqual({ service: 'db', label: null });
    expect(portOwner({ port: 3000, protocol: 'tcp', process: null }, null, state)).toEqual({ service: null, label: null });
  });
});

describe('stored specs', () => {
  it('fill the create from the spec where the request names nothing', () => {
    const body = { name: 'a', provider: 'docker' as const, spec: projectSpecSchema.parse({ image: 'dev', cpus: 2, memory: '1g' }) };
    expect(withSpecDefaults(body)).toMatchObject({ image: 'dev', cpus: 2, memory: '1g' });
    expect(withSpecDefaults({ ...body, image: 'other', cpus: 1 })).toMatchObject({ image: 'other', cpus: 1, memory: '1g' });
  });

  it('read back only what still passes the schema', () => {
    expect(parseStoredSpec(JSON.stringify({ services: { a: { command: 'x' } } }))?.services?.a.command).toBe('x');
    expect(parseStoredSpec('{"bogus": 1}')).toBeNull();
    expect(parseStoredSpec('not json')).toBeNull();
    expect(parseStoredSpec(null)).toBeNull();
  });
});
