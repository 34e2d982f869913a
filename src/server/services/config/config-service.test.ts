import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigResource, User } from '../../../api/index.js';
import { configKey } from '../../../api/index.js';
import { openSqliteStore, type Store } from '../../store/open.js';
import { ConfigService } from './config-service.js';
import { CreateRules } from './create-rules.js';

let dir: string;
let store: Store;
let config: ConfigService;
const admin: User = { id: 'u1', name: 'admin', email: null, role: 'admin', createdAt: new Date(0).toISOString() };
const alice: User = { id: 'u2', name: 'alice', email: null, role: 'member', createdAt: new Date(0).toISOString() };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-config-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  const now = new Date().toISOString();
  await store.db
    .insertInto('users')
    .values([
      { id: admin.id, name: admin.name, role: 'admin', email: null, created_at: now },
      { id: alice.id, name: alice.name, role: 'member', email: null, created_at: now },
    ])
    .execute();
  for (const name of ['pa', 'pb']) {
    await store.db
      .insertInto('nodes')
      .values({
        id: `id-${name}`,
        name,
        credential_hash: `h-${name}`,
        created_at: now,
        last_seen_at: null,
        agent_version: null,
        resources_json: null,
        providers_json: '[]',
      })
      .execute();
  }
  config = new ConfigService(store);
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const template: ConfigResource = { kind: 'WorkspaceTemplate', name: 'py', spec: { defaults: { image: 'base', env: { A: '1' } }, limits: { cpus: 2 } } };

describe('config push', () => {
  it('pulls every node and the settings, applies a push once, and a second push changes nothing', async () => {
    const pulled = await config.pull();
    expect(pulled.resources.map((r) => `${r.kind}/${r.name}`)).toEqual(['ServerSettings/server', 'Node/pa', 'Node/pb']);
    const edited = [
      ...pulled.resources.map((r) => (r.kind === 'Node' && r.name === 'pa' ? { ...r, spec: { labels: { zone: 'eu' }, cordoned: true } } : r)),
      template,
      { kind: 'UserQuota', name: 'alice', spec: { workspaces: 1 } } as ConfigResource,
    ];
    const first = await config.push(admin, { baseRevision: pulled.revision, resources: edited });
    expect(first.applied).toBe(true);
    expect(first.changes.map((c) => `${c.action} ${c.kind}/${c.name} ${c.fields.join(',')}`)).toEqual([
      'changed Node/pa cordoned,labels.zone',
      'added WorkspaceTemplate/py ',
      'added UserQuota/alice ',
    ]);
    expect(first.revision).toBeGreaterThan(pulled.revision);
    const second = await config.push(admin, { baseRevision: first.revision, resources: edited });
    expect(second).toEqual({ applied: false, revision: first.revision, changes: [] });
    const audit = await store.db.selectFrom('audit_log').selectAll().where('action', '=', 'config.push').orderBy('id').execute();
    expect(audit.map((a) => a.detail)).toEqual([
      expect.stringMatching(/changed Node\/pa \(cordoned, labels\.zone\); added WorkspaceTemplate\/py; added UserQuota\/alice/),
      expect.stringMatching(/^no changes/),
    ]);
    expect((await config.pull()).resources).toEqual(expect.arrayContaining(edited));
  });

  it('refuses a stale push, and a node label change made outside config makes a pull stale', async () => {
    const pulled = await config.pull();
    await store.db
      .updateTable('nodes')
      .set({ labels_json: JSON.stringify({ zone: 'us' }) })
      .where('name', '=', 'pb')
      .execute();
    // A heartbeat's write to the same row is not a config change.
    await store.db.updateTable('nodes').set({ last_seen_at: new Date().toISOString(), providers_json: '[{}]' }).where('name', '=', 'pb').execute();
    const now = await config.pull();
    expect(now.revision).toBe(pulled.revision + 1);
    await expect(config.push(admin, { baseRevision: pulled.revision, resources: [template] })).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      field: 'baseRevision',
      message: expect.stringContaining(`pulled at revision ${pulled.revision}; the server is at ${now.revision}`),
    });
    expect(await store.db.selectFrom('workspace_templates').selectAll().execute()).toEqual([]);
    // A dry run still answers, against the live state.
    expect((await config.push(admin, { baseRevision: pulled.revision, resources: [template], dryRun: true })).changes).toHaveLength(1);
  });

  it('is all or nothing: a resource naming an unknown user leaves everything as it was', async () => {
    const pulled = await config.pull();
    const bad = [
      template,
      { kind: 'Node', name: 'pa', spec: { labels: { a: 'b' }, cordoned: false } } as ConfigResource,
      { kind: 'UserQuota', name: 'nobody', spec: {} } as ConfigResource,
    ];
    await expect(config.push(admin, { baseRevision: pulled.revision, resources: bad })).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'UserQuota/nobody' });
    await expect(
      config.push(admin, { baseRevision: pulled.revision, resources: [{ kind: 'Node', name: 'pz', spec: { labels: {}, cordoned: false } }] }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'Node/pz' });
    expect(await config.pull()).toEqual(pulled);
  });

  it('prune removes templates and quotas and resets nodes and settings the push leaves out', async () => {
    let rev = (await config.pull()).revision;
    rev = (
      await config.push(admin, {
        baseRevision: rev,
        resources: [
          template,
          { kind: 'Node', name: 'pb', spec: { labels: { x: 'y' }, cordoned: true } },
          { kind: 'ServerSettings', name: 'server', spec: { placement: 'binpack' } },
        ],
      })
    ).revision;
    const pruned = await config.push(admin, { baseRevision: rev, resources: [], prune: true });
    expect(pruned.changes.map((c) => `${c.action} ${c.kind}/${c.name}`)).toEqual([
      'changed ServerSettings/server',
      'changed Node/pb',
      'removed WorkspaceTemplate/py',
    ]);
    const again = await config.push(admin, { baseRevision: pruned.revision, resources: [], prune: true });
    expect(again.applied).toBe(false);
    const live = await config.pull();
    expect(live.resources).toEqual([
      { kind: 'ServerSettings', name: 'server', spec: {} },
      { kind: 'Node', name: 'pa', spec: { labels: {}, cordoned: false } },
      { kind: 'Node', name: 'pb', spec: { labels: {}, cordoned: false } },
    ]);
  });

  it('refuses a resource pushed twice', async () => {
    await expect(config.push(admin, { baseRevision: 0, resources: [template, template] })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/WorkspaceTemplate\/py twice/),
    });
  });
});

describe('create rules', () => {
  it('applies a template under the request, checks its limits, the quota and the placement setting', async () => {
    const rules = new CreateRules(store);
    await config.push(admin, {
      baseRevision: (await config.pull()).revision,
      resources: [
        template,
        { kind: 'UserQuota', name: 'alice', spec: { workspaces: 1, memory: '1g' } },
        { kind: 'ServerSettings', name: 'server', spec: { placement: 'binpack' } },
      ],
    });
    const body = await rules.withTemplate({ name: 'w', provider: 'docker', template: 'py', spec: { env: { B: '2' } } });
    expect(body.spec).toEqual({ image: 'base', env: { A: '1', B: '2' } });
    await expect(rules.withTemplate({ name: 'w', provider: 'docker', template: 'py', cpus: 4 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'cpus',
    });
    await expect(rules.withTemplate({ name: 'w', provider: 'docker', template: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'template' });
    expect(await rules.placement('spread')).toBe('binpack');
    await rules.checkQuota(alice, null, 512 * 1024 ** 2);
    await expect(rules.checkQuota(alice, null, 2 * 1024 ** 3)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', field: 'quota.memory' });
    const now = new Date().toISOString();
    await store.db
      .insertInto('workspaces')
      .values({
        id: 'w1',
        name: 'w1',
        owner_id: alice.id,
        node_id: 'id-pa',
        provider: 'docker',
        image: 'base',
        status: 'running',
        cpus: null,
        memory_bytes: null,
        error_json: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await expect(rules.checkQuota(alice, null, null)).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      field: 'quota.workspaces',
      message: expect.stringMatching(/allows 1 workspace and you have 1/),
    });
    await rules.checkQuota(admin, 64, null);
  });
});

describe('config push, properties', () => {
  const templateArb = fc.record({
    name: fc.constantFrom('py', 'go', 'web'),
    description: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    cpus: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    image: fc.option(fc.constantFrom('base', 'debian:bookworm'), { nil: undefined }),
  });
  const desiredArb = fc.record({
    settings: fc.option(fc.constantFrom('spread' as const, 'binpack' as const), { nil: null }),
    nodes: fc.uniqueArray(
      fc.record({ name: fc.constantFrom('pa', 'pb'), zone: fc.option(fc.constantFrom('eu', 'us'), { nil: undefined }), cordoned: fc.boolean() }),
      { selector: (n) => n.name },
    ),
    templates: fc.uniqueArray(templateArb, { selector: (t) => t.name }),
    quotas: fc.uniqueArray(fc.record({ name: fc.constantFrom('admin', 'alice'), workspaces: fc.option(fc.nat(10), { nil: undefined }) }), {
      selector: (q) => q.name,
    }),
  });
  const toResources = (d: any): ConfigResource[] =>
    [
      ...(d.settings ? [{ kind: 'ServerSettings', name: 'server', spec: { placement: d.settings } }] : []),
      ...d.nodes.map((n: any) => ({ kind: 'Node', name: n.name, spec: { labels: n.zone ? { zone: n.zone } : {}, cordoned: n.cordoned } })),
      ...d.templates.map((t: any) => ({
        kind: 'WorkspaceTemplate',
        name: t.name,
        spec: {
          ...(t.description !== undefined ? { description: t.description } : {}),
          defaults: t.image ? { image: t.image } : {},
          ...(t.cpus ? { limits: { cpus: t.cpus } } : {}),
        },
      })),
      ...d.quotas.map((q: any) => ({ kind: 'UserQuota', name: q.name, spec: q.workspaces === undefined ? {} : { workspaces: q.workspaces } })),
    ] as ConfigResource[];

  it('a pruning push makes the live state what was pushed, and pushing it again changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(desiredArb, async (d) => {
        const wanted = toResources(d);
        const { revision } = await config.pull();
        await config.push(admin, { baseRevision: revision, resources: wanted, prune: true });
        const after = await config.pull();
        const byKey = new Map(after.resources.map((r) => [configKey(r), r]));
        for (const r of wanted) expect(byKey.get(configKey(r))).toEqual(r);
        // What the push left out is gone (templates, quotas) or back to its defaults (nodes, settings).
        for (const r of after.resources) {
          if (wanted.some((w) => configKey(w) === configKey(r))) continue;
          if (r.kind === 'Node') expect(r.spec).toEqual({ labels: {}, cordoned: false });
          else if (r.kind === 'ServerSettings') expect(r.spec).toEqual({});
          else throw new Error(`${configKey(r)} survived a pruning push that left it out`);
        }
        const again = await config.push(admin, { baseRevision: after.revision, resources: wanted, prune: true });
        expect(again).toEqual({ applied: false, revision: after.revision, changes: [] });
      }),
      { numRuns: 40 },
    );
  });
});
