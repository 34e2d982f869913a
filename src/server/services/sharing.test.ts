import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore, type Store } from '../store/open.js';
import { createServices, type Services } from './index.js';
import { checkTeamForCreate } from './teams-quota.js';

let dir: string;
let store: Store;
let s: Services;
const at = new Date().toISOString();
const user = (id: string, role: 'admin' | 'member' = 'member') => ({ id, name: id, email: null, role, createdAt: '' });
const admin = user('root', 'admin');
const ws = (name: string, owner: string, team: string | null = null, cpus: number | null = null) => ({
  id: name,
  name,
  owner_id: owner,
  node_id: 'n1',
  provider: 'docker' as const,
  image: 'base',
  status: 'running',
  cpus,
  memory_bytes: null,
  error_json: null,
  created_at: at,
  updated_at: at,
  team_id: team,
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-sharing-'));
  store = await openSqliteStore(join(dir, 'berth.db'));
  s = createServices(store, pino({ level: 'silent' }), { heartbeatMs: 1000 });
  s.revoker.stop();
  await store.db
    .insertInto('users')
    .values(
      ['root', 'alice', 'bob', 'carol'].map((id) => ({
        id,
        name: id,
        role: id === 'root' ? ('admin' as const) : ('member' as const),
        email: null,
        created_at: at,
      })),
    )
    .execute();
  await store.db
    .insertInto('nodes')
    .values({ id: 'n1', name: 'n1', credential_hash: 'x', created_at: at, last_seen_at: null, agent_version: null, resources_json: null, providers_json: '[]' })
    .execute();
  await store.db
    .insertInto('workspaces')
    .values([ws('api', 'alice'), ws('web', 'carol')])
    .execute();
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('sharing', () => {
  it('lets a use guest see and use, never delete or re-share, until unshared', async () => {
    const bob = user('bob');
    await expect(s.workspaces.get(bob, 'alice/api')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await s.shares.share(user('alice'), 'api', { user: 'bob' });
    expect((await s.workspaces.get(bob, 'alice/api', {}, 'use')).name).toBe('api');
    expect((await s.workspaces.list(bob)).workspaces.map((w) => w.name)).toEqual(['api']);
    expect((await s.workspaces.list(bob, { limit: 10, shared: true })).workspaces.map((w) => w.name)).toEqual(['api']);
    expect((await s.workspaces.list(user('alice'), { limit: 10, shared: true })).workspaces).toEqual([]);
    await expect(s.workspaces.transition(bob, 'alice/api', 'delete')).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
      message: expect.stringMatching(/only the owner deletes/),
    });
    await expect(s.shares.share(bob, 'alice/api', { user: 'carol' })).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
      message: expect.stringMatching(/use access, and sharing needs admin access/),
    });
    expect((await s.shares.list(bob, 'alice/api')).map((x) => [x.user, x.role])).toEqual([['bob', 'use']]);
    await s.shares.unshare(user('alice'), 'api', { user: 'bob' });
    await expect(s.workspaces.get(bob, 'alice/api')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(s.shares.unshare(user('alice'), 'api', { user: 'bob' })).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'user' });
  });

  it('lets an admin guest share on, within the policy, and refuses sharing with the owner', async () => {
    await s.shares.share(user('alice'), 'api', { user: 'bob', role: 'admin' });
    await s.shares.share(user('bob'), 'alice/api', { user: 'carol' });
    expect((await s.workspaces.get(user('carol'), 'alice/api', {}, 'use')).name).toBe('api');
    await expect(s.shares.share(user('bob'), 'alice/api', { user: 'alice' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await s.shares.setPolicy(admin, 'admins');
    await expect(s.shares.share(user('alice'), 'api', { user: 'carol' })).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
      message: expect.stringMatching(/only server admins may share/),
    });
    await s.shares.setPolicy(admin, 'off');
    await expect(s.workspaces.get(user('carol'), 'alice/api')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('shares with a team reach its members, and an expired share grants nothing', async () => {
    await s.teams.create(admin, { name: 'ops' });
    await s.teams.addMember(admin, 'ops', { user: 'bob' });
    await s.shares.share(user('alice'), 'api', { team: 'ops' });
    expect((await s.workspaces.get(user('bob'), 'alice/api', {}, 'use')).name).toBe('api');
    await store.db
      .updateTable('workspace_shares')
      .set({ expires_at: new Date(Date.now() - 1).toISOString() })
      .execute();
    await expect(s.workspaces.get(user('bob'), 'alice/api')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await s.shares.list(user('alice'), 'api'))[0]).toMatchObject({ team: 'ops', expired: true });
  });
});

describe('teams', () => {
  it('hides teams from non-members, lets team admins manage members and anyone leave', async () => {
    await s.teams.create(admin, { name: 'web', maxWorkspaces: 2, maxCpus: 4, maxMemory: '8g' });
    await expect(s.teams.create(admin, { name: 'web' })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(await s.teams.list(user('bob'))).toEqual([]);
    await expect(s.teams.addMember(user('bob'), 'web', { user: 'bob' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await s.teams.addMember(admin, 'web', { user: 'carol', role: 'admin' });
    await s.teams.addMember(user('carol'), 'web', { user: 'bob' });
    await expect(s.teams.addMember(user('bob'), 'web', { user: 'alice' })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    const [team] = await s.teams.list(user('bob'));
    expect(team).toMatchObject({
      name: 'web',
      maxWorkspaces: 2,
      maxCpus: 4,
      maxMemoryBytes: 8 * 1024 ** 3,
      members: [
        { user: 'bob', role: 'member' },
        { user: 'carol', role: 'admin' },
      ],
    });
    await s.teams.removeMember(user('bob'), 'web', 'bob');
    expect(await s.teams.list(user('bob'))).toEqual([]);
  });

  it("shows members the team's workspaces (team admins manage, only owners delete) and refuses removing a team that holds some", async () => {
    const t = await s.teams.create(admin, { name: 'web' });
    const id = (await store.db.selectFrom('teams').select('id').where('name', '=', t.name).executeTakeFirstOrThrow()).id;
    await store.db
      .insertInto('workspaces')
      .values(ws('tws', 'carol', id))
      .execute();
    await s.teams.addMember(admin, 'web', { user: 'bob' });
    await s.teams.addMember(admin, 'web', { user: 'alice', role: 'admin' });
    expect((await s.workspaces.list(user('bob'))).workspaces.map((w) => [w.name, w.team])).toEqual([['tws', 'web']]);
    await expect(s.workspaces.get(user('bob'), 'carol/tws', {}, 'admin')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    expect((await s.workspaces.get(user('alice'), 'carol/tws', {}, 'admin')).name).toBe('tws');
    await expect(s.workspaces.get(user('alice'), 'carol/tws', {}, 'delete')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await expect(s.teams.remove('web')).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringMatching(/tws/) });
    // Within a team a name is taken once, whoever owns the workspace: by the create, and by the store.
    await expect(s.workspaces.create(user('bob'), { name: 'tws', team: 'web' } as never)).rejects.toMatchObject({ code: 'ALREADY_EXISTS', field: 'name' });
    await expect(
      store.db
        .insertInto('workspaces')
        .values({ ...ws('tws', 'bob', id), id: 'tws2' })
        .execute(),
    ).rejects.toThrow(/UNIQUE/);
  });

  it('checks quotas naming the quota, the current use and the ask', async () => {
    await s.teams.create(admin, { name: 'q', maxWorkspaces: 2, maxCpus: 3, maxMemory: '1g' });
    const id = (await store.db.selectFrom('teams').select('id').where('name', '=', 'q').executeTakeFirstOrThrow()).id;
    await store.db
      .insertInto('workspaces')
      .values({ ...ws('one', 'carol', id, 2), memory_bytes: 512 * 1024 ** 2 })
      .execute();
    await expect(checkTeamForCreate(store, user('bob'), 'q')).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'team' });
    await s.teams.addMember(admin, 'q', { user: 'bob' });
    const team = await checkTeamForCreate(store, user('bob'), 'q');
    await expect(team.check(2, 256 * 1024 ** 2)).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
      field: 'cpus',
      message:
        "Team q's CPU quota is 3; its workspaces use 2 and this one asks for 2. Ask for fewer CPUs, remove a workspace, or ask an admin to raise the quota.",
    });
    await expect(team.check(1, 1024 ** 3)).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
      field: 'memory',
      message: expect.stringMatching(/memory quota is 1(\.0)? GiB; its workspaces use 512(\.0)? MiB and this one asks for 1(\.0)? GiB/),
    });
    await expect(team.check(null, 1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'cpus' });
    await team.check(1, 256 * 1024 ** 2);
    await store.db
      .insertInto('workspaces')
      .values(ws('two', 'carol', id, 1))
      .execute();
    await expect(team.check(0.5, 1)).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
      message: "Team q's workspace quota is 2 and it already has 2; remove one of its workspaces or ask an admin to raise the quota.",
    });
  });
});
