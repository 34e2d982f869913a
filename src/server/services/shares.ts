/**
 * Sharing a workspace with a user or a team. Who may share is the permission function's call
 * (`share`: owner, server admin, team admin or an admin share, within the sharing policy);
 * unsharing ends the grantee's live sessions at once (revoker.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  BerthError,
  type Share,
  type ShareDelete,
  type SharesPost,
  type SharingPolicyValue,
  shareDeleteSchema,
  sharesPostSchema,
  type User,
} from '../../api/index.js';
import type { Revoker } from '../access/revoker.js';
import { readSharingPolicy, writeSharingPolicy } from '../access/settings.js';
import type { Store } from '../store/open.js';
import type { WorkspacesService } from './workspaces.js';

type Via = { sourceIp?: string };

/** Shares and the sharing policy. */
export class SharesService {
  constructor(
    private readonly store: Store,
    private readonly workspaces: Pick<WorkspacesService, 'get'>,
    private readonly revoker: Pick<Revoker, 'recheck'>,
  ) {}

  /** The shares of a workspace the caller may see. */
  async list(user: User, name: string, via: Via = {}): Promise<Share[]> {
    const ws = await this.workspaces.get(user, name, via, 'view');
    const rows = await this.store.db
      .selectFrom('workspace_shares')
      .leftJoin('users', 'users.id', 'workspace_shares.user_id')
      .leftJoin('teams', 'teams.id', 'workspace_shares.team_id')
      .leftJoin('users as creator', 'creator.id', 'workspace_shares.created_by')
      .select([
        'users.name as userName',
        'teams.name as teamName',
        'workspace_shares.role',
        'workspace_shares.expires_at',
        'workspace_shares.created_at',
        'creator.name as creatorName',
      ])
      .where('workspace_shares.workspace_id', '=', ws.id)
      .orderBy('workspace_shares.created_at')
      .execute();
    const now = Date.now();
    return rows.map((r) => ({
      workspace: ws.name,
      user: r.userName,
      team: r.teamName,
      role: r.role,
      expiresAt: r.expires_at,
      expired: r.expires_at !== null && Date.parse(r.expires_at) <= now,
      createdBy: r.creatorName ?? '(removed user)',
      createdAt: r.created_at,
    }));
  }

  /** Shares (or re-shares, replacing role and expiry) a workspace with a user or a team. */
  async share(user: User, name: string, input: SharesPost, via: Via = {}): Promise<Share> {
    const body = sharesPostSchema.parse(input);
    const ws = await this.workspaces.get(user, name, via, 'share');
    const grantee = await this.grantee(body);
    if (grantee.userId && grantee.userId === (await this.ownerId(ws.id))) {
      throw new BerthError('INVALID_ARGUMENT', `${body.user} owns workspace ${name} already.`, { field: 'user' });
    }
    const now = new Date();
    const expiresAt = body.ttlSeconds ? new Date(now.getTime() + body.ttlSeconds * 1000).toISOString() : null;
    const values = {
      id: randomUUID(),
      workspace_id: ws.id,
      user_id: grantee.userId,
      team_id: grantee.teamId,
      role: body.role,
      expires_at: expiresAt,
      created_by: user.id,
      created_at: now.toISOString(),
    };
    await this.store.db.transaction().execute(async (tx) => {
      await this.matching(tx.deleteFrom('workspace_shares').where('workspace_id', '=', ws.id), grantee).execute();
      await tx.insertInto('workspace_shares').values(values).execute();
    });
    // A lower role than before takes rights away.
    await this.revoker.recheck();
    return {
      workspace: ws.name,
      user: body.user ?? null,
      team: body.team ?? null,
      role: body.role,
      expiresAt,
      expired: false,
      createdBy: user.name,
      createdAt: values.created_at,
    };
  }

  /** Ends a share; the grantee's live sessions end with it unless another grant still allows them. */
  async unshare(user: User, name: string, input: ShareDelete, via: Via = {}): Promise<{ share: Share; endedSessions: number }> {
    const body = shareDeleteSchema.parse(input);
    const ws = await this.workspaces.get(user, name, via, 'share');
    const grantee = await this.grantee(body);
    const existing = await this.list(user, name, via);
    const share = existing.find((s) => (body.user !== undefined ? s.user === body.user : s.team === body.team));
    const gone = await this.matching(this.store.db.deleteFrom('workspace_shares').where('workspace_id', '=', ws.id), grantee).executeTakeFirst();
    if (!share || Number(gone.numDeletedRows) === 0) {
      throw new BerthError(
        'NOT_FOUND',
        `Workspace ${name} is not shared with ${body.user ? `user ${body.user}` : `team ${body.team}`}; see \`berth ws shares ${name}\`.`,
        { field: body.user ? 'user' : 'team' },
      );
    }
    const endedSessions = await this.revoker.recheck();
    return { share, endedSessions };
  }

  /** The sharing policy. */
  policy(): Promise<SharingPolicyValue> {
    return readSharingPolicy(this.store);
  }

  /** Sets the sharing policy (admins); turning it off ends live sessions that rested on shares. */
  async setPolicy(_user: User, policy: SharingPolicyValue): Promise<SharingPolicyValue> {
    await writeSharingPolicy(this.store, policy);
    await this.revoker.recheck();
    return policy;
  }

  private async grantee(body: { user?: string; team?: string }): Promise<{ userId: string | null; teamId: string | null }> {
    if (body.user !== undefined) {
      const u = await this.store.db.selectFrom('users').select('id').where('name', '=', body.user).executeTakeFirst();
      if (!u) throw new BerthError('NOT_FOUND', `No user named ${body.user}; check the name with them.`, { field: 'user' });
      return { userId: u.id, teamId: null };
    }
    const t = await this.store.db.selectFrom('teams').select('id').where('name', '=', body.team!).executeTakeFirst();
    if (!t) throw new BerthError('NOT_FOUND', `No team named ${body.team}; see \`berth team ls\`.`, { field: 'team' });
    return { userId: null, teamId: t.id };
  }

  // biome-ignore lint/suspicious/noExplicitAny: any kysely query with a where(), whatever its tables
  private matching<Q extends { where: (...args: any[]) => Q }>(q: Q, g: { userId: string | null; teamId: string | null }): Q {
    return g.userId ? q.where('user_id', '=', g.userId) : q.where('team_id', '=', g.teamId);
  }

  private async ownerId(workspaceId: string): Promise<string | undefined> {
    return (await this.store.db.selectFrom('workspaces').select('owner_id').where('id', '=', workspaceId).executeTakeFirst())?.owner_id;
  }
}
