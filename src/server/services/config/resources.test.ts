/** The config kinds added in 0013: the sharing policy inside ServerSettings, TeamQuota and ImageRecipe, against a real SQLite store. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ConfigResource, parseSize, type User } from '../../../api/index.js';
import { readSharingPolicy, writeSharingPolicy } from '../../access/settings.js';
import { openSqliteStore, type Store } from '../../store/open.js';
import { seedUsers } from '../../store/seed.test-support.js';
import { ConfigService } from './config-service.js';
import { recipeByName, sizeText } from './live.js';

let dir: string;
let store: Store;
let config: ConfigService;
let rechecks: number;
const admin: User = { id: 'u1', name: 'admin', email: null, role: 'admin', createdAt: new Date(0).toISOString() };
const now = new Date().toISOString();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-config-kinds-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  await seedUsers(store, [admin], now);
  for (const name of ['core', 'web'])
    await store.db
      .insertInto('teams')
      .values({ id: `t-${name}`, name, max_workspaces: null, max_cpus: null, max_memory_bytes: null, created_by: admin.id, created_at: now })
      .execute();
  rechecks = 0;
  config = new ConfigService(store, {
    recheck: async () => {
      rechecks++;
    },
  });
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const keys = (rs: ConfigResource[]) => rs.map((r) => `${r.kind}/${r.name}`);
async function push(resources: ConfigResource[], prune = false) {
  const { revision } = await config.pull();
  return config.push(admin, { baseRevision: revision, resources, prune });
}

describe('the sharing policy in ServerSettings', () => {
  it('is one store with `berth sharing-policy`: each sees what the other wrote, and a push that changes it re-checks sessions', async () => {
    await writeSharingPolicy(store, 'admins');
    expect((await config.pull()).resources[0]).toEqual({ kind: 'ServerSettings', name: 'server', spec: { sharing: 'admins' } });
    const r = await push([{ kind: 'ServerSettings', name: 'server', spec: { placement: 'binpack', sharing: 'off' } }]);
    expect(r.changes).toEqual([{ kind: 'ServerSettings', name: 'server', action: 'changed', fields: ['placement', 'sharing'] }]);
    expect(await readSharingPolicy(store)).toBe('off');
    expect(rechecks).toBe(1);
    // A push that leaves the settings alone does not re-check.
    await push([{ kind: 'TeamQuota', name: 'core', spec: { workspaces: 1 } }]);
    expect(rechecks).toBe(1);
    // Pruning resets the settings: the policy is the default again.
    await push([], true);
    expect(await readSharingPolicy(store)).toBe('everyone');
    expect(rechecks).toBe(2);
  });
});

describe('TeamQuota', () => {
  it('lists every team, applies a push to its quota columns, reads memory back as pushed, and a second push changes nothing', async () => {
    const pulled = await config.pull();
    expect(keys(pulled.resources)).toEqual(['ServerSettings/server', 'TeamQuota/core', 'TeamQuota/web']);
    expect(pulled.resources[1].spec).toEqual({});
    const want: ConfigResource = { kind: 'TeamQuota', name: 'core', spec: { workspaces: 2, cpus: 1.5, memory: '2048m' } };
    const first = await config.push(admin, { baseRevision: pulled.revision, resources: [want] });
    expect(first.changes).toEqual([{ kind: 'TeamQuota', name: 'core', action: 'changed', fields: ['cpus', 'memory', 'workspaces'] }]);
    const row = await store.db.selectFrom('teams').selectAll().where('name', '=', 'core').executeTakeFirstOrThrow();
    expect([row.max_workspaces, row.max_cpus, Number(row.max_memory_bytes)]).toEqual([2, 1.5, 2 * 1024 ** 3]);
    const live = (await config.pull()).resources.find((r) => r.name === 'core');
    expect(live).toEqual({ kind: 'TeamQuota', name: 'core', spec: { workspaces: 2, cpus: 1.5, memory: '2g' } });
    const again = await config.push(admin, { baseRevision: first.revision, resources: [want] });
    expect(again).toEqual({ applied: false, revision: first.revision, changes: [] });
  });

  it('refuses a quota for a team nobody made, applying nothing', async () => {
    const before = await config.pull();
    const err = await config
      .push(admin, {
        baseRevision: before.revision,
        resources: [
          { kind: 'TeamQuota', name: 'core', spec: { workspaces: 1 } },
          { kind: 'TeamQuota', name: 'ghost', spec: {} },
        ],
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NOT_FOUND', field: 'TeamQuota/ghost' });
    expect((err as Error).message).toMatch(/Team ghost does not exist .*berth team create/);
    expect(await config.pull()).toEqual(before);
  });

  it('prune resets the quotas of teams the folder leaves out; the teams stay', async () => {
    await push([
      { kind: 'TeamQuota', name: 'core', spec: { workspaces: 1 } },
      { kind: 'TeamQuota', name: 'web', spec: { memory: '1g' } },
    ]);
    const r = await push([{ kind: 'TeamQuota', name: 'core', spec: { workspaces: 1 } }], true);
    expect(r.changes).toEqual([{ kind: 'TeamQuota', name: 'web', action: 'changed', fields: ['memory'] }]);
    expect((await config.pull()).resources.find((x) => x.name === 'web')?.spec).toEqual({});
    expect((await push([{ kind: 'TeamQuota', name: 'core', spec: { workspaces: 1 } }], true)).changes).toEqual([]);
  });

  it('a team made, changed outside config, or removed moves the revision', async () => {
    const r0 = (await config.pull()).revision;
    await store.db.updateTable('teams').set({ max_cpus: 4 }).where('name', '=', 'web').execute();
    const r1 = (await config.pull()).revision;
    expect(r1).toBe(r0 + 1);
    await store.db.updateTable('teams').set({ max_cpus: 4 }).where('name', '=', 'web').execute();
    expect((await config.pull()).revision).toBe(r1);
    await store.db.deleteFrom('teams').where('name', '=', 'web').execute();
    expect((await config.pull()).revision).toBe(r1 + 1);
  });
});

describe('ImageRecipe', () => {
  const dev: ConfigResource = { kind: 'ImageRecipe', name: 'dev', spec: { from: 'debian:bookworm', packages: ['git', 'curl'] } };

  it('is stored by a push (nothing is built), pulled back the same, changed, and pruned', async () => {
    const added = await push([dev]);
    expect(added.changes).toEqual([{ kind: 'ImageRecipe', name: 'dev', action: 'added', fields: [] }]);
    expect(await recipeByName(store.db, 'dev')).toEqual(dev.spec);
    expect((await config.pull()).resources).toContainEqual(dev);
    const changed = await push([{ ...dev, spec: { from: 'debian:bookworm', packages: ['git'] } }]);
    expect(changed.changes).toEqual([{ kind: 'ImageRecipe', name: 'dev', action: 'changed', fields: ['packages'] }]);
    expect((await push([], false)).changes).toEqual([]);
    const pruned = await push([], true);
    expect(pruned.changes).toContainEqual({ kind: 'ImageRecipe', name: 'dev', action: 'removed', fields: [] });
    expect(await recipeByName(store.db, 'dev')).toBeNull();
  });

  it('an unchanged recipe written again (a rebuild) leaves the revision alone', async () => {
    await push([dev]);
    const r = (await config.pull()).revision;
    await store.db
      .updateTable('image_recipes')
      .set({ spec_json: JSON.stringify(dev.spec), updated_at: 'later' })
      .where('name', '=', 'dev')
      .execute();
    expect((await config.pull()).revision).toBe(r);
  });
});

describe('the new kinds, properties', () => {
  const desiredArb = fc.record({
    placement: fc.option(fc.constantFrom('spread' as const, 'binpack' as const), { nil: undefined }),
    sharing: fc.option(fc.constantFrom('everyone' as const, 'admins' as const, 'off' as const), { nil: undefined }),
    teams: fc.uniqueArray(
      fc.record({
        name: fc.constantFrom('core', 'web'),
        workspaces: fc.option(fc.nat(10), { nil: undefined }),
        cpus: fc.option(fc.constantFrom(0.5, 2, 16), { nil: undefined }),
        memory: fc.option(fc.constantFrom('512m', '1g', '1536m'), { nil: undefined }),
      }),
      { selector: (t) => t.name },
    ),
    recipes: fc.uniqueArray(
      fc.record({ name: fc.constantFrom('dev', 'ops', 'ci'), packages: fc.uniqueArray(fc.constantFrom('git', 'curl', 'jq'), { maxLength: 3 }) }),
      { selector: (r) => r.name },
    ),
  });
  const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const toResources = (d: typeof desiredArb extends fc.Arbitrary<infer D> ? D : never): ConfigResource[] => [
    { kind: 'ServerSettings', name: 'server', spec: defined({ placement: d.placement, sharing: d.sharing }) },
    ...d.teams.map((t): ConfigResource => ({ kind: 'TeamQuota', name: t.name, spec: defined({ workspaces: t.workspaces, cpus: t.cpus, memory: t.memory }) })),
    ...d.recipes.map(
      (r): ConfigResource => ({
        kind: 'ImageRecipe',
        name: r.name,
        spec: r.packages.length ? { from: 'debian:bookworm', packages: r.packages } : { from: 'busybox', packages: [] },
      }),
    ),
  ];

  it('a pruning push makes the live state what was pushed (the rest removed or reset), the policy reads back, and pushing again changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(desiredArb, async (d) => {
        const wanted = toResources(d);
        await push(wanted, true);
        const after = await config.pull();
        for (const r of wanted) expect(after.resources).toContainEqual(r);
        for (const r of after.resources) {
          if (wanted.some((w) => w.kind === r.kind && w.name === r.name)) continue;
          expect(r.kind, `${r.kind}/${r.name} survived a pruning push that left it out`).toBe('TeamQuota');
          expect(r.spec).toEqual({});
        }
        expect(await readSharingPolicy(store)).toBe(d.sharing ?? 'everyone');
        const again = await config.push(admin, { baseRevision: after.revision, resources: wanted, prune: true });
        expect(again).toEqual({ applied: false, revision: after.revision, changes: [] });
      }),
      { numRuns: 40 },
    );
  });
});

describe('sizeText, properties', () => {
  it('reads back as the same bytes, and is a fixed point of reading and writing', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 50 }), (bytes) => {
        const text = sizeText(bytes);
        expect(parseSize(text)).toBe(bytes);
        expect(sizeText(parseSize(text)!)).toBe(text);
        expect(text).toMatch(/^\d+[kmgt]?$/);
      }),
      { numRuns: 1000 },
    );
    expect([sizeText(2048 * 1024 ** 2), sizeText(1536 * 1024 ** 2), sizeText(12345)]).toEqual(['2g', '1536m', '12345']);
  });
});
