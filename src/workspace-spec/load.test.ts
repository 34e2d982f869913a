import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BerthError } from '../api/index.js';
import { loadSpecText } from './load.js';

/** The error a spec text gives (the test fails if it loads). */
function errorOf(text: string, file = 'berth.yaml'): BerthError {
  try {
    loadSpecText(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    return err as BerthError;
  }
  throw new Error('the spec loaded, but an error was expected');
}

const THREE = `
name: shop
image: base
env:
  MODE: dev
services:
  db:
    command: ["nc", "-lk", "-p", "5432"]
    healthcheck:
      tcp: 5432
      interval: 1s
  api:
    command: ./serve --port 8080
    depends_on:
      db: { condition: service_healthy }
      migrate: { condition: completed }
    ports: [8080, { port: 9229, label: debugger }]
    restart: on-failure:5
  migrate:
    command: ./migrate
    depends_on: [db]
    restart: no
`;

describe('berth.yaml', () => {
  it('loads services with compose defaults made explicit, in dependency order', () => {
    const { spec, resolved, format } = loadSpecText(THREE, 'berth.yaml');
    expect(format).toBe('berth');
    expect(spec.name).toBe('shop');
    expect(resolved.startWaves).toEqual([['db'], ['migrate'], ['api']]);
    const api = resolved.services.find((s) => s.name === 'api')!;
    expect(api.argv).toEqual(['/bin/sh', '-c', './serve --port 8080']);
    expect(api.dependsOn).toEqual([
      { service: 'db', condition: 'healthy', restart: false },
      { service: 'migrate', condition: 'completed', restart: false },
    ]);
    expect(api.restart).toEqual({ policy: 'on-failure', maxRetries: 5 });
    expect(api.ports).toEqual([
      { port: 8080, protocol: 'tcp', label: null, onAutoForward: 'notify' },
      { port: 9229, protocol: 'tcp', label: 'debugger', onAutoForward: 'notify' },
    ]);
    const db = resolved.services.find((s) => s.name === 'db')!;
    expect(db.healthcheck).toEqual({
      probe: { kind: 'tcp', port: 5432 },
      intervalMs: 1000,
      timeoutMs: 30_000,
      retries: 3,
      startPeriodMs: 0,
      startIntervalMs: 5000,
    });
    // YAML 1.2: `no` is the string compose means, not false.
    expect(resolved.services.find((s) => s.name === 'migrate')!.restart.policy).toBe('no');
  });

  it('loads an empty file as an empty spec', () => {
    expect(loadSpecText('', 'berth.yaml').resolved).toEqual({ services: [], startWaves: [], ports: [] });
  });

  it('spells out a cycle, located at the service that starts it', () => {
    const e = errorOf('services:\n  a:\n    command: x\n    depends_on: [b]\n  b:\n    command: y\n    depends_on: [a]\n');
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe('berth.yaml:4:17: services.a.depends_on: services depend on each other in a cycle: a → b → a. Fix the file and retry.');
    expect(e.field).toBe('services.a.depends_on');
  });

  it('names an unknown dependency at its line and column', () => {
    const e = errorOf('services:\n  api:\n    command: x\n    depends_on:\n      db: {}\n');
    expect(e.message).toMatch(/^berth\.yaml:5:11: services\.api\.depends_on\.db: service api depends on db, which is not declared under services/);
  });

  it('locates unknown keys at the key, and lists every problem in the detail', () => {
    const e = errorOf('image: base\nservices:\n  api:\n    comand: x\n    restart: sometimes\nmemroy: 1g\n');
    expect(e.detail!.split('\n')).toEqual([
      'berth.yaml:3:3: services.api.command: missing: add command',
      'berth.yaml:4:5: services.api.comand: unknown field "comand": remove it, or check its spelling',
      expect.stringMatching(/^berth\.yaml:5:14: services\.api\.restart: .*on-failure:N/),
      'berth.yaml:6:1: memroy: unknown field "memroy": remove it, or check its spelling',
    ]);
    expect(e.message).toMatch(/and 3 more problems/);
  });

  it('refuses bad durations and a wait for health on a service without a health check', () => {
    expect(errorOf('services:\n  db:\n    command: x\n    healthcheck: { tcp: 5432, interval: 30 }\n').message).toMatch(
      /^berth\.yaml:4:41: services\.db\.healthcheck\.interval: /,
    );
    expect(errorOf('services:\n  db:\n    command: x\n    healthcheck: { tcp: 5432, interval: 5s1m }\n').message).toMatch(/use a duration such as 30s/);
    expect(errorOf('services:\n  db:\n    command: x\n  api:\n    command: y\n    depends_on: { db: { condition: healthy } }\n').message).toMatch(
      /waits for db to be healthy, but db has no healthcheck/,
    );
    expect(errorOf('services:\n  db:\n    command: x\n    healthcheck: { tcp: 1, http: 2 }\n').message).toMatch(/exactly one of cmd, http or tcp/);
  });

  it('reports YAML syntax errors and duplicate keys with their position', () => {
    expect(errorOf('image: [base\n').message).toMatch(/^berth\.yaml:\d+:\d+: /);
    expect(errorOf('image: a\nimage: b\n').message).toMatch(/^berth\.yaml:2:1: Map keys must be unique/);
  });

  it('stops alias bombs', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from(
        { length: 8 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
            .fill('*' + String.fromCharCode(97 + i))
            .join(', ')}]`,
      ),
    ].join('\n');
    expect(errorOf(bomb).code).toBe('INVALID_ARGUMENT');
  });

  it('never throws anything but a coded error with a location, whatever the text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), yamlish), (text) => {
        try {
          loadSpecText(text, 'berth.yaml');
        } catch (err) {
          expect(err).toBeInstanceOf(BerthError);
          expect((err as BerthError).code).toBe('INVALID_ARGUMENT');
          expect((err as BerthError).message).toMatch(/^berth\.yaml(:\d+:\d+)?: /);
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });
});

/** YAML-shaped text made of spec keys, so the property reaches the schema, not only the parser. */
const yamlish = fc
  .array(
    fc.tuple(
      fc.constantFrom('image', 'services', 'env', 'ports', 'cpus', 'memory', '__proto__', 'constructor', 'hooks', 'name'),
      fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.integer(),
        fc.constant('{ a: { command: x, depends_on: [a] } }'),
        fc.constant('[1, "2/udp", { port: 70000 }]'),
        fc.constant('{ polluted: 1 }'),
      ),
    ),
    { maxLength: 6 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${k}: ${typeof v === 'string' ? v : String(v)}`).join('\n'));

describe('devcontainer.json', () => {
  const DC = `// A typical devcontainer, comments and trailing commas included.
{
  "name": "Node.js & TypeScript",
  "image": "debian:bookworm",
  "containerEnv": { "MODE": "dev", },
  "remoteEnv": { "PATH": "\${containerEnv:PATH}:/x", "MODE": null },
  "forwardPorts": [3000, "localhost:9229", "db:5432"],
  "portsAttributes": { "3000": { "label": "App", "onAutoForward": "openBrowser" }, "9000-9300": { "label": "debug" } },
  "otherPortsAttributes": { "onAutoForward": "silent" },
  "postCreateCommand": "npm ci",
  "postStartCommand": { "watch": "npm run watch", "db": ["sh", "-c", "true"] },
  "remoteUser": "node",
  "workspaceFolder": "/workspaces/app",
  "hostRequirements": { "cpus": 2, "memory": "4gb", "storage": "32gb" },
  "features": { "ghcr.io/devcontainers/features/git:1": {} },
  "customizations": { "vscode": { "extensions": ["dbaeumer.vscode-eslint"] } },
}`;

  it('translates what berth supports and warns about everything else', () => {
    const { spec, warnings, format, resolved } = loadSpecText(DC, '.devcontainer/devcontainer.json');
    expect(format).toBe('devcontainer');
    expect(spec).toMatchObject({
      name: 'node-js-typescript',
      image: 'debian:bookworm',
      env: { PATH: '${containerEnv:PATH}:/x' },
      hooks: { post_create: 'npm ci', post_start: { watch: 'npm run watch', db: ['sh', '-c', 'true'] } },
      user: 'node',
      workdir: '/workspaces/app',
      cpus: 2,
      memory: '4gb',
    });
    expect(spec.env).not.toHaveProperty('MODE');
    expect(resolved.ports).toEqual([
      { port: 3000, protocol: 'tcp', label: 'App', onAutoForward: 'open-browser' },
      { port: 9229, protocol: 'tcp', label: 'debug', onAutoForward: 'notify' },
    ]);
    expect(warnings).toEqual(
      expect.arrayContaining([
        'devcontainer.json: features is not supported by berth and was ignored',
        'devcontainer.json: customizations is not supported by berth and was ignored',
        'devcontainer.json: hostRequirements.storage is not supported by berth and was ignored',
        expect.stringMatching(/forwardPorts "db:5432" names another host/),
        expect.stringMatching(/env PATH uses a \$\{\.\.\.\} variable/),
      ]),
    );
    // Ports without attributes of their own take otherPortsAttributes.
    const other = loadSpecText('{ "forwardPorts": [8080], "otherPortsAttributes": { "onAutoForward": "silent" } }', 'devcontainer.json');
    expect(other.resolved.ports[0].onAutoForward).toBe('silent');
  });

  it('points spec errors at the devcontainer field they came from', () => {
    const e = errorOf('{\n  "image": "base",\n  "hostRequirements": {\n    "memory": "lots"\n  }\n}', '.devcontainer/devcontainer.json');
    expect(e.message).toMatch(/^\.devcontainer\/devcontainer\.json:4:15: memory: use a size/);
    const p = errorOf('{ "forwardPorts": [80, 70000] }', 'devcontainer.json');
    expect(p.message).toMatch(/^devcontainer\.json:1:24: ports\.1/);
    const t = errorOf('{ "containerEnv": { "A": 1 } }', 'devcontainer.json');
    expect(t.message).toMatch(/^devcontainer\.json:1:26: containerEnv\.A: /);
  });

  it('reports JSON syntax errors with their position', () => {
    expect(errorOf('{ "image": }', 'devcontainer.json').message).toMatch(/^devcontainer\.json:1:12: JSON syntax: ValueExpected/);
  });

  it('never throws anything but a coded error, whatever the text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.json().map((j) => j.slice(0, 400)),
        ),
        (text) => {
          try {
            loadSpecText(text, 'devcontainer.json');
          } catch (err) {
            expect(err).toBeInstanceOf(BerthError);
            expect((err as BerthError).code).toBe('INVALID_ARGUMENT');
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
