import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { BerthError, CONFIG_KINDS, configResourceSchema } from '../api/index.js';
import { configFilePath, configToText, parseConfigText } from './config-file.js';

/** The error a parse throws (fails the test when it does not throw). */
function errorOf(text: string, file = 'cfg/t.yaml'): BerthError {
  try {
    parseConfigText(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    return err as BerthError;
  }
  throw new Error('expected the parse to fail');
}

describe('config files', () => {
  it('reads each kind with its defaults', () => {
    expect(parseConfigText('kind: Node\nname: pa\nspec:\n  labels: { zone: eu }\n', 'n.yaml')).toEqual({
      kind: 'Node',
      name: 'pa',
      spec: { labels: { zone: 'eu' }, cordoned: false },
    });
    expect(parseConfigText('kind: ServerSettings\nname: server\nspec: { placement: binpack }\n', 's.yaml').spec).toEqual({ placement: 'binpack' });
    const t = parseConfigText(
      'apiVersion: berth/v1\nkind: WorkspaceTemplate\nname: py\nspec:\n  defaults:\n    image: base\n    env: { A: "1" }\n  limits: { cpus: 2, memory: 1g }\n',
      't.yaml',
    );
    expect(t).toMatchObject({
      kind: 'WorkspaceTemplate',
      name: 'py',
      spec: { defaults: { image: 'base', env: { A: '1' } }, limits: { cpus: 2, memory: '1g' } },
    });
    expect(parseConfigText('kind: UserQuota\nname: alice\nspec: { workspaces: 3 }\n', 'q.yaml').spec).toEqual({ workspaces: 3 });
  });

  it('names file, line, column and field of a bad value', () => {
    const e = errorOf('kind: Node\nname: pa\nspec:\n  labels:\n    zone: eu\n  cordoned: maybe\n');
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.field).toBe('spec.cordoned');
    expect(e.message).toMatch(/^cfg\/t\.yaml:6:13: spec\.cordoned: /);
  });

  it('names a misspelt key at the key, inside a template spec too', () => {
    const e = errorOf('kind: WorkspaceTemplate\nname: py\nspec:\n  defaults:\n    imgae: base\n');
    expect(e.field).toBe('spec.defaults.imgae');
    expect(e.message).toMatch(/^cfg\/t\.yaml:5:5: spec\.defaults\.imgae: unknown field/);
  });

  it('names an unknown kind, a missing name, and YAML that is not a mapping', () => {
    expect(errorOf('kind: Widget\nname: x\n').message).toMatch(/^cfg\/t\.yaml:1:7: kind: use kind: one of ServerSettings, Node/);
    const missing = errorOf('kind: UserQuota\nspec: {}\n');
    expect(missing.field).toBe('name');
    expect(missing.message).toMatch(/^cfg\/t\.yaml:\d+:\d+: name: missing/);
    expect(errorOf('- a\n- b\n').message).toMatch(/^cfg\/t\.yaml:1:1: kind: a config file holds one mapping/);
    expect(errorOf('kind: Node\nname: pa\nspec: { labels: [\n').message).toMatch(/^cfg\/t\.yaml:\d+:\d+: /);
    expect(errorOf('kind: ServerSettings\nname: other\n').field).toBe('name');
  });

  it('refuses a file too large to be one resource', () => {
    expect(errorOf(`kind: Node\nname: pa\n# ${'x'.repeat(300 * 1024)}\n`).message).toMatch(/larger than 256 KiB/);
  });

  it('writes what it reads back the same, at the path pull uses', () => {
    const r = configResourceSchema.parse({
      kind: 'WorkspaceTemplate',
      name: 'py',
      spec: { description: 'Python', defaults: { image: 'base', hooks: { post_create: ['sh', '-c', 'echo hi'] } }, limits: { memory: '2g' } },
    });
    expect(parseConfigText(configToText(r), 'x.yaml')).toEqual(r);
    expect(configFilePath(r)).toBe('templates/py.yaml');
    expect(configFilePath({ kind: 'ServerSettings', name: 'server' })).toBe('server.yaml');
    expect(configFilePath({ kind: 'Node', name: 'pa' })).toBe('nodes/pa.yaml');
    expect(configFilePath({ kind: 'UserQuota', name: 'al' })).toBe('quotas/al.yaml');
  });
});

describe('config files: sharing policy, team quotas and image recipes', () => {
  it('reads each with its defaults and writes it back the same, at the path pull uses', () => {
    const settings = parseConfigText('kind: ServerSettings\nname: server\nspec: { placement: spread, sharing: admins }\n', 's.yaml');
    expect(settings.spec).toEqual({ placement: 'spread', sharing: 'admins' });
    const team = parseConfigText('kind: TeamQuota\nname: core\nspec:\n  workspaces: 4\n  cpus: 2.5\n  memory: 8g\n', 'tq.yaml');
    expect(team).toEqual({ kind: 'TeamQuota', name: 'core', spec: { workspaces: 4, cpus: 2.5, memory: '8g' } });
    expect(parseConfigText('kind: TeamQuota\nname: core\n', 'tq.yaml').spec).toEqual({});
    const recipe = parseConfigText('kind: ImageRecipe\nname: dev\nspec:\n  from: debian:bookworm\n  packages: [git, curl]\n', 'r.yaml');
    expect(recipe).toEqual({ kind: 'ImageRecipe', name: 'dev', spec: { from: 'debian:bookworm', packages: ['git', 'curl'] } });
    expect(parseConfigText('kind: ImageRecipe\nname: small\nspec: { from: busybox }\n', 'r.yaml').spec).toEqual({ from: 'busybox', packages: [] });
    for (const r of [settings, team, recipe]) expect(parseConfigText(configToText(r), 'x.yaml')).toEqual(r);
    expect(configFilePath(team)).toBe('team-quotas/core.yaml');
    expect(configFilePath(recipe)).toBe('images/dev.yaml');
  });

  it('names file, line, column and field of a bad value', () => {
    const policy = errorOf('kind: ServerSettings\nname: server\nspec:\n  sharing: sometimes\n');
    expect(policy.field).toBe('spec.sharing');
    expect(policy.message).toMatch(/^cfg\/t\.yaml:4:12: spec\.sharing: /);
    const cpus = errorOf('kind: TeamQuota\nname: core\nspec:\n  workspaces: 2\n  cpus: -1\n');
    expect(cpus.field).toBe('spec.cpus');
    expect(cpus.message).toMatch(/^cfg\/t\.yaml:5:9: spec\.cpus: use a positive number of CPUs/);
    const mem = errorOf('kind: TeamQuota\nname: core\nspec: { memory: lots }\n');
    expect(mem.message).toMatch(/^cfg\/t\.yaml:3:17: spec\.memory: use a size such as 512m or 2g/);
    const from = errorOf('kind: ImageRecipe\nname: dev\nspec:\n  from: ubuntu:noble\n');
    expect(from.field).toBe('spec.from');
    expect(from.message).toMatch(/^cfg\/t\.yaml:4:9: spec\.from: use busybox or debian:<suite>/);
    const pkg = errorOf('kind: ImageRecipe\nname: dev\nspec:\n  from: debian:bookworm\n  packages:\n    - git\n    - --force-yes\n');
    expect(pkg.field).toBe('spec.packages.1');
    expect(pkg.message).toMatch(/^cfg\/t\.yaml:7:7: spec\.packages\.1: use Debian package names/);
    const none = errorOf('kind: ImageRecipe\nname: dev\nspec: {}\n');
    expect(none.field).toBe('spec.from');
    const stray = errorOf('kind: ImageRecipe\nname: dev\nspec:\n  from: busybox\n  script: rm -rf /\n');
    expect(stray.message).toMatch(/^cfg\/t\.yaml:5:3: spec\.script: unknown field/);
  });
});

describe('config files, properties', () => {
  it('names an odd key so the message still reads FILE:LINE:COL: FIELD: (a space, a colon)', () => {
    const text = stringify({ kind: 'ServerSettings', name: 'server', spec: { ' ': [], 'a:b': 1 } });
    expect(() => parseConfigText(text, 'p.yaml')).toThrow(/^p\.yaml:4:3: spec\["\\u0020"\]: unknown field " "/);
  });

  it('any text either parses or fails with an INVALID_ARGUMENT that names the file first', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        try {
          parseConfigText(text, 'p.yaml');
        } catch (err) {
          expect(err).toBeInstanceOf(BerthError);
          expect((err as BerthError).code).toBe('INVALID_ARGUMENT');
          expect((err as BerthError).message).toMatch(/^p\.yaml(:\d+:\d+)?: /);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('any YAML mapping that fails the schema names file, line, column and a field', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.string({ maxLength: 12 }),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    const resource = fc.record(
      {
        kind: fc.oneof(fc.constantFrom(...CONFIG_KINDS), fc.string({ maxLength: 10 })),
        name: fc.oneof(fc.constantFrom('pa', 'server', 'alice', 'py'), fc.string({ maxLength: 10 }), fc.integer()),
        spec: fc.oneof(
          json,
          fc.record({ labels: json, cordoned: json, placement: json, defaults: json, limits: json, workspaces: json }, { requiredKeys: [] }),
        ),
        extra: json,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(resource, (value) => {
        const text = stringify(value);
        try {
          const r = parseConfigText(text, 'p.yaml');
          expect(CONFIG_KINDS).toContain(r.kind);
        } catch (err) {
          expect(err).toBeInstanceOf(BerthError);
          const e = err as BerthError;
          expect(e.message).toMatch(/^p\.yaml:\d+:\d+: [^:\s]+: /);
          expect(e.field).toBeTruthy();
        }
      }),
      { numRuns: 500 },
    );
  });
});
