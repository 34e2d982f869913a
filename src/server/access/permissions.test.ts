import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../store/open.js';
import { decide, decideMany } from './facts.js';
import { ACTIONS, type AccessFacts, type Action, type Actor, can, SHARING_POLICIES, type SharingPolicy } from './permissions.js';
import { writeSharingPolicy } from './settings.js';

const NOW = 1_000_000;
const facts = (over: Partial<AccessFacts> = {}): AccessFacts => ({ now: NOW, policy: 'everyone', teamRole: null, shares: [], ...over });
const alice: Actor = { id: 'alice', role: 'member' };
const bob: Actor = { id: 'bob', role: 'member' };
const root: Actor = { id: 'root', role: 'admin' };
const ws = { ownerId: 'alice', teamId: null };
const allowed = (a: Actor | null, action: Action, f: AccessFacts, w: { ownerId: string; teamId: string | null } = ws) => can(a, action, w, f).allowed;

describe('can: one rule at a time', () => {
  it('lets the owner do everything, and share while the policy allows', () => {
    for (const action of ACTIONS) expect(allowed(alice, action, facts())).toBe(true);
    expect(allowed(alice, 'share', facts({ policy: 'admins' }))).toBe(false);
    expect(allowed(alice, 'share', facts({ policy: 'off' }))).toBe(false);
  });
  it('lets a server admin do everything, sharing unless the policy is off', () => {
    for (const action of ACTIONS) expect(allowed(root, action, facts())).toBe(true);
    expect(allowed(root, 'share', facts({ policy: 'admins' }))).toBe(true);
    expect(allowed(root, 'share', facts({ policy: 'off' }))).toBe(false);
  });
  it('gives a stranger nothing, and a removed user nothing', () => {
    for (const action of ACTIONS) expect(allowed(bob, action, facts())).toBe(false);
    expect(can(null, 'view', ws, facts())).toEqual({ allowed: false, reason: 'the user no longer exists' });
  });
  it('a use share allows view and use, never admin, share or delete', () => {
    const f = facts({ shares: [{ role: 'use', expiresAt: null }] });
    expect(ACTIONS.filter((a) => allowed(bob, a, f))).toEqual(['view', 'use']);
    const denied = can(bob, 'share', ws, f);
    expect(denied.allowed || denied.reason).toMatch(/use access.*needs admin/);
  });
  it('an admin share also allows admin and share, never delete', () => {
    const f = facts({ shares: [{ role: 'admin', expiresAt: null }] });
    expect(ACTIONS.filter((a) => allowed(bob, a, f))).toEqual(['view', 'use', 'admin', 'share']);
    const d = can(bob, 'delete', ws, f);
    expect(d.allowed || d.reason).toBe('only the owner deletes a workspace');
  });
  it('an expired share grants nothing; one expiring later does', () => {
    expect(allowed(bob, 'view', facts({ shares: [{ role: 'admin', expiresAt: NOW }] }))).toBe(false);
    expect(allowed(bob, 'view', facts({ shares: [{ role: 'admin', expiresAt: NOW + 1 }] }))).toBe(true);
  });
  it('shares count for nothing while the policy is off, and admins-only sharing keeps existing shares', () => {
    expect(allowed(bob, 'use', facts({ policy: 'off', shares: [{ role: 'use', expiresAt: null }] }))).toBe(false);
    expect(allowed(bob, 'use', facts({ policy: 'admins', shares: [{ role: 'use', expiresAt: null }] }))).toBe(true);
    expect(allowed(bob, 'share', facts({ policy: 'admins', shares: [{ role: 'admin', expiresAt: null }] }))).toBe(false);
  });
  it("team members use the team's workspaces, team admins manage them, whatever the sharing policy", () => {
    const tws = { ownerId: 'alice', teamId: 't' };
    expect(ACTIONS.filter((a) => allowed(bob, a, facts({ teamRole: 'member', policy: 'off' }), tws))).toEqual(['view', 'use']);
    expect(ACTIONS.filter((a) => allowed(bob, a, facts({ teamRole: 'admin' }), tws))).toEqual(['view', 'use', 'admin', 'share']);
  });
  it('takes the highest of several grants', () => {
    const f = facts({
      teamRole: 'member',
      shares: [
        { role: 'use', expiresAt: null },
        { role: 'admin', expiresAt: NOW + 5 },
      ],
    });
    expect(can(bob, 'share', ws, f)).toEqual({ allowed: true, via: 'share', level: 'admin' });
  });
});

// The rules written a second time, as a table of what each kind of grant permits, so the
// property below compares `can` with an independent statement of them.
interface World {
  actor: { id: string; role: 'admin' | 'member' } | null;
  ownerId: string;
  teamId: string | null;
  memberships: Array<{ team: string; user: string; role: 'member' | 'admin' }>;
  shares: Array<{ user: string | null; team: string | null; role: 'use' | 'admin'; expiresAt: number | null }>;
  policy: SharingPolicy;
  now: number;
}

function oracle(w: World, action: Action): boolean {
  const a = w.actor;
  if (a === null) return false;
  const mayShare = w.policy === 'everyone' || (w.policy === 'admins' && a.role === 'admin');
  if (a.id === w.ownerId || a.role === 'admin') return action === 'share' ? mayShare : true;
  const myTeams = new Set(w.memberships.filter((m) => m.user === a.id).map((m) => m.team));
  const grants = new Set<string>();
  const membership = w.memberships.find((m) => m.user === a.id && m.team === w.teamId);
  if (membership) grants.add(membership.role === 'admin' ? 'admin' : 'use');
  for (const s of w.shares) {
    const mine = s.user === a.id || (s.team !== null && myTeams.has(s.team));
    const live = s.expiresAt === null || s.expiresAt > w.now;
    if (w.policy !== 'off' && mine && live) grants.add(s.role);
  }
  const permitted: Record<string, Action[]> = { use: ['view', 'use'], admin: ['view', 'use', 'admin', ...(mayShare ? (['share'] as const) : [])] };
  return [...grants].some((g) => permitted[g]!.includes(action));
}

/** Facts as facts.ts derives them from the rows (its SQL is checked against this in facts.test.ts). */
function factsOf(w: World): AccessFacts {
  const id = w.actor?.id ?? '';
  const myTeams = new Set(w.memberships.filter((m) => m.user === id).map((m) => m.team));
  return {
    now: w.now,
    policy: w.policy,
    teamRole: w.memberships.find((m) => m.user === id && m.team === w.teamId)?.role ?? null,
    shares: w.shares.filter((s) => s.user === id || (s.team !== null && myTeams.has(s.team))).map((s) => ({ role: s.role, expiresAt: s.expiresAt })),
  };
}

const userId = fc.constantFrom('u1', 'u2', 'u3', 'u4');
const teamId = fc.constantFrom('t1', 't2', 't3');
/** Random users, teams, memberships, shares (some expired), policies and actions. */
const worldArb: fc.Arbitrary<World> = fc.record({
  actor: fc.option(fc.record({ id: userId, role: fc.constantFrom('admin' as const, 'member' as const) }), { nil: null, freq: 8 }),
  ownerId: userId,
  teamId: fc.option(teamId, { nil: null }),
  memberships: fc.uniqueArray(fc.record({ team: teamId, user: userId, role: fc.constantFrom('member' as const, 'admin' as const) }), {
    selector: (m) => `${m.team}/${m.user}`,
    maxLength: 8,
  }),
  shares: fc.array(
    fc.oneof(
      fc.record({
        user: userId,
        team: fc.constant(null),
        role: fc.constantFrom('use' as const, 'admin' as const),
        expiresAt: fc.option(fc.integer({ min: NOW - 10, max: NOW + 10 }), { nil: null }),
      }),
      fc.record({
        user: fc.constant(null),
        team: teamId,
        role: fc.constantFrom('use' as const, 'admin' as const),
        expiresAt: fc.option(fc.integer({ min: NOW - 10, max: NOW + 10 }), { nil: null }),
      }),
    ),
    { maxLength: 6 },
  ),
  policy: fc.constantFrom(...SHARING_POLICIES),
  now: fc.constant(NOW),
});

describe('can: property', () => {
  it('never allows what the rules forbid, and allows what they permit', () => {
    fc.assert(
      fc.property(worldArb, fc.constantFrom(...ACTIONS), (w, action) => {
        const d = can(w.actor, action, { ownerId: w.ownerId, teamId: w.teamId }, factsOf(w));
        expect(d.allowed).toBe(oracle(w, action));
        if (!d.allowed) expect(d.reason.length).toBeGreaterThan(10);
      }),
      { numRuns: 5000 },
    );
  });
  it('never lets anyone but the owner or a server admin delete, nor a use-only guest share', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const f = factsOf(w);
        const ref = { ownerId: w.ownerId, teamId: w.teamId };
        if (w.actor && w.actor.id !== w.ownerId && w.actor.role !== 'admin') {
          expect(can(w.actor, 'delete', ref, f).allowed).toBe(false);
          const onlyUse = f.teamRole !== 'admin' && f.shares.every((s) => s.role === 'use');
          if (onlyUse) {
            expect(can(w.actor, 'share', ref, f).allowed).toBe(false);
            expect(can(w.actor, 'admin', ref, f).allowed).toBe(false);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('decide: the facts as the store holds them', () => {
  it('agrees with the rules for random rows in a real SQLite store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-access-'));
    const store = await openSqliteStore(join(dir, 'berth.db'));
    try {
      const at = new Date().toISOString();
      const db = store.db;
      await db
        .insertInto('users')
        .values(['u1', 'u2', 'u3', 'u4'].map((id) => ({ id, name: id, role: 'member' as const, email: null, created_at: at })))
        .execute();
      await db
        .insertInto('teams')
        .values(
          ['t1', 't2', 't3'].map((id) => ({ id, name: id, max_workspaces: null, max_cpus: null, max_memory_bytes: null, created_by: 'u1', created_at: at })),
        )
        .execute();
      await db
        .insertInto('nodes')
        .values({
          id: 'n1',
          name: 'n1',
          credential_hash: 'x',
          created_at: at,
          last_seen_at: null,
          agent_version: null,
          resources_json: null,
          providers_json: '[]',
        })
        .execute();
      await fc.assert(
        fc.asyncProperty(worldArb, fc.constantFrom(...ACTIONS), async (w, action) => {
          await db.deleteFrom('workspaces').execute();
          await db.deleteFrom('team_members').execute();
          if (w.actor) await db.updateTable('users').set({ role: w.actor.role }).where('id', '=', w.actor.id).execute();
          await db
            .insertInto('workspaces')
            .values({
              id: 'w',
              name: 'w',
              owner_id: w.ownerId,
              node_id: 'n1',
              provider: 'docker',
              image: 'base',
              status: 'running',
              cpus: null,
              memory_bytes: null,
              error_json: null,
              created_at: at,
              updated_at: at,
              team_id: w.teamId,
            })
            .execute();
          if (w.memberships.length)
            await db
              .insertInto('team_members')
              .values(w.memberships.map((m) => ({ team_id: m.team, user_id: m.user, role: m.role, added_at: at })))
              .execute();
          // One share per grantee, as the unique indexes keep it.
          const seen = new Set<string>();
          const shares = w.shares.filter((s) => !seen.has(`${s.user}/${s.team}`) && seen.add(`${s.user}/${s.team}`));
          const world = { ...w, shares };
          if (shares.length) {
            await db
              .insertInto('workspace_shares')
              .values(
                shares.map((s, i) => ({
                  id: `s${i}`,
                  workspace_id: 'w',
                  user_id: s.user,
                  team_id: s.team,
                  role: s.role,
                  expires_at: s.expiresAt === null ? null : new Date(s.expiresAt).toISOString(),
                  created_by: 'u1',
                  created_at: at,
                })),
              )
              .execute();
          }
          await writeSharingPolicy(store, w.policy);
          // A removed user is one whose id matches no row.
          const actorId = w.actor?.id ?? 'gone';
          const ref = { id: 'w', ownerId: w.ownerId, teamId: w.teamId };
          const d = await decide(store, actorId, action, ref, w.now);
          expect(d.allowed).toBe(oracle(world, action));
          // The list's batch form decides the same.
          expect((await decideMany(store, actorId, action, [ref], w.now))[0]!.allowed).toBe(d.allowed);
          if (w.actor) await db.updateTable('users').set({ role: 'member' }).where('id', '=', w.actor.id).execute();
        }),
        { numRuns: 150 },
      );
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
