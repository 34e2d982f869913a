/**
 * The one place that decides who may do what to a workspace. Pure: the caller gathers the
 * facts (facts.ts) and every path that touches a workspace (the API, the SSH gateway,
 * previews, the web terminal, port forwards, operations, the revocation sweep) asks `can`.
 *
 * The rules, in order:
 * - a user that no longer exists may do nothing;
 * - the owner and server admins may do everything (sharing still needs the policy to allow it);
 * - everyone else's level is the highest of: their role in the workspace's team (member →
 *   use, admin → admin) and every unexpired share naming them or one of their teams (shares
 *   count only while the sharing policy is not `off`);
 * - `view` and `use` need level use; `admin` needs level admin; `share` needs level admin
 *   and a policy that lets this actor share (`everyone`, or `admins` for a server admin);
 * - only the owner (or a server admin) deletes.
 */

/** What one may do to a workspace. `use` covers exec, ssh, ports, previews, start/stop and logs; `admin` changes resources; `share` grants others access. */
export type Action = 'view' | 'use' | 'admin' | 'share' | 'delete';
/** Every action, for tests and docs. */
export const ACTIONS: readonly Action[] = ['view', 'use', 'admin', 'share', 'delete'];

/** Who may share workspaces on this server (an admin setting). */
export type SharingPolicy = 'everyone' | 'admins' | 'off';
/** Every sharing policy. */
export const SHARING_POLICIES: readonly SharingPolicy[] = ['everyone', 'admins', 'off'];

/** A share's or team's grant: `use` or `admin`. */
export type AccessLevel = 'use' | 'admin';

/** The person asking; null when their user row is gone (removed while connected). */
export interface Actor {
  id: string;
  role: 'admin' | 'member';
}

/** The workspace as the rules see it. */
export interface WorkspaceRef {
  ownerId: string;
  teamId: string | null;
}

/** What the store knows about the actor's relation to the workspace. */
export interface AccessFacts {
  /** Milliseconds since the epoch: shares expiring at or before it grant nothing. */
  now: number;
  policy: SharingPolicy;
  /** The actor's role in the workspace's team, or null (no team, or not a member). */
  teamRole: 'member' | 'admin' | null;
  /** Shares of this workspace naming the actor or a team the actor is in. */
  shares: ReadonlyArray<{ role: AccessLevel; expiresAt: number | null }>;
}

/** How access was granted, for audit lines and `ws ls`. */
export type Via = 'owner' | 'server-admin' | 'team' | 'share';

/** The answer: allowed (and why), or denied with a sentence saying why. */
export type Decision = { allowed: true; via: Via; level: 'owner' | AccessLevel } | { allowed: false; reason: string };

const RANK: Record<AccessLevel, number> = { use: 1, admin: 2 };

/** The highest level the actor holds through teams and live shares, or null. */
export function grantedLevel(facts: AccessFacts): { level: AccessLevel; via: 'team' | 'share' } | null {
  let best: { level: AccessLevel; via: 'team' | 'share' } | null = null;
  const offer = (level: AccessLevel, via: 'team' | 'share') => {
    if (!best || RANK[level] > RANK[best.level]) best = { level, via };
  };
  if (facts.teamRole) offer(facts.teamRole === 'admin' ? 'admin' : 'use', 'team');
  if (facts.policy !== 'off') {
    for (const s of facts.shares) if (s.expiresAt === null || s.expiresAt > facts.now) offer(s.role, 'share');
  }
  return best;
}

/** Whether the policy lets this actor share at all. */
function policyAllowsSharing(actor: Actor, policy: SharingPolicy): string | null {
  if (policy === 'off') return 'sharing is turned off on this server (an admin sets it with `berth sharing-policy set`)';
  if (policy === 'admins' && actor.role !== 'admin') return 'only server admins may share on this server (sharing policy: admins)';
  return null;
}

/** May `actor` do `action` to `ws`? */
export function can(actor: Actor | null, action: Action, ws: WorkspaceRef, facts: AccessFacts): Decision {
  if (!actor) return { allowed: false, reason: 'the user no longer exists' };
  const full: Via | null = actor.id === ws.ownerId ? 'owner' : actor.role === 'admin' ? 'server-admin' : null;
  if (full) {
    if (action === 'share') {
      const why = policyAllowsSharing(actor, facts.policy);
      if (why) return { allowed: false, reason: why };
    }
    return { allowed: true, via: full, level: full === 'owner' ? 'owner' : 'admin' };
  }
  const granted = grantedLevel(facts);
  if (!granted) return { allowed: false, reason: "the workspace is not yours, not your team's and not shared with you" };
  if (action === 'delete') return { allowed: false, reason: 'only the owner deletes a workspace' };
  if ((action === 'admin' || action === 'share') && granted.level !== 'admin') {
    return {
      allowed: false,
      reason: `you have ${granted.level} access, and ${action === 'share' ? 'sharing' : 'changing it'} needs admin access (ask the owner)`,
    };
  }
  if (action === 'share') {
    const why = policyAllowsSharing(actor, facts.policy);
    if (why) return { allowed: false, reason: why };
  }
  return { allowed: true, via: granted.via, level: granted.level };
}
