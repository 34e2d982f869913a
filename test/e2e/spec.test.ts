/**
 * Project spec files through the CLI: `berth spec check` on berth.yaml and devcontainer.json
 * (found in a project directory, errors located in the file, warnings for what berth does not
 * honour) and `berth schema workspace`. The examples in docs/spec.md are checked here, so the
 * docs cannot drift from what berth accepts. No server is needed: the spec is read locally.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './harness.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-e2e-spec-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The first ```yaml block of docs/spec.md. */
async function docsExample(): Promise<string> {
  const md = await readFile(new URL('../../docs/spec.md', import.meta.url), 'utf8');
  const m = /```yaml\n([\s\S]*?)```/.exec(md);
  if (!m) throw new Error('docs/spec.md has no yaml example');
  return m[1];
}

describe('berth spec check', () => {
  it('accepts the example in docs/spec.md and shows its services in start order', async () => {
    const project = join(dir, 'docs-example');
    await mkdir(project);
    await writeFile(join(project, 'berth.yaml'), await docsExample());
    const r = await runCli(['spec', 'check', project, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.file).toBe(join(project, 'berth.yaml'));
    expect(out.format).toBe('berth');
    expect(out.resolved.startWaves).toEqual([['db'], ['migrate'], ['api']]);
    const api = out.resolved.services.find((s: { name: string }) => s.name === 'api');
    expect(api.healthcheck.probe).toEqual({ kind: 'http', port: 8080, path: '/health', status: null });
    expect(api.dependsOn).toContainEqual({ service: 'db', condition: 'healthy', restart: true });
    const human = await runCli(['spec', 'check', project]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('started in this order: db → migrate → api');
  });

  it('reads a project that has only a devcontainer.json, warning about what it ignores', async () => {
    const project = join(dir, 'dc');
    await mkdir(join(project, '.devcontainer'), { recursive: true });
    await writeFile(
      join(project, '.devcontainer', 'devcontainer.json'),
      '// comments are fine\n{\n  "name": "Go API",\n  "image": "debian:bookworm",\n  "forwardPorts": [8080],\n  "features": {},\n}\n',
    );
    const r = await runCli(['spec', 'check', project, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.format).toBe('devcontainer');
    expect(out.spec).toMatchObject({ name: 'go-api', image: 'debian:bookworm', ports: [{ port: 8080 }] });
    expect(r.stderr).toContain('warning: devcontainer.json: features is not supported by berth and was ignored');
  });

  it('fails with exit 2 and every problem located at file:line:column', async () => {
    const file = join(dir, 'broken.yaml');
    await writeFile(file, 'services:\n  api:\n    command: x\n    depends_on: [db]\n  worker:\n    comand: y\n');
    const r = await runCli(['spec', 'check', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `error: INVALID_ARGUMENT: ${file}:4:17: services.api.depends_on.db: service api depends on db, which is not declared under services (and 2 more problems; see the detail)`,
    );
    expect(r.stderr).toContain(`${file}:5:3: services.worker.command: missing: add command`);
    expect(r.stderr).toContain(`${file}:6:5: services.worker.comand: unknown field "comand"`);
    const json = await runCli(['spec', 'check', file, '--json']);
    expect(JSON.parse(json.stderr).error).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'services.api.depends_on.db' });
  });

  it('says what to do when there is no spec', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty);
    const r = await runCli(['spec', 'check', empty]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/has no berth\.yaml, berth\.yml, \.devcontainer\/devcontainer\.json, \.devcontainer\.json; write a berth\.yaml there/);
  });
});

describe('berth schema workspace', () => {
  it('prints a JSON Schema that describes berth.yaml, strict about unknown keys', async () => {
    const r = await runCli(['schema', 'workspace']);
    expect(r.code, r.stderr).toBe(0);
    const schema = JSON.parse(r.stdout);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties).sort()).toEqual([
      'cpus',
      'env',
      'hooks',
      'image',
      'memory',
      'name',
      'ports',
      'provider',
      'services',
      'user',
      'workdir',
    ]);
    const service = schema.properties.services.additionalProperties;
    expect(service.required).toEqual(['command']);
    expect(Object.keys(service.properties)).toEqual(expect.arrayContaining(['depends_on', 'healthcheck', 'restart', 'ports']));
  });
});
