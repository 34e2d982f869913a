/**
 * Revocation that bites: every live session (live-sessions.ts) is checked again with `can`
 * ('use') every SWEEP_MS and at once after a change of shares, teams or users, and those no
 * longer allowed are ended and audited (`workspace.access.revoked`). Expiry needs no timer per
 * share: the sweep's clock passes it. A session on a workspace that is gone is left to the
 * workspace's own end (stop/delete ends its sessions already).
 */
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit.js';
import type { Store } from '../store/open.js';
import { loadFacts } from './facts.js';
import type { LiveSessions } from './live-sessions.js';
import { can } from './permissions.js';

/** How often live sessions are checked: well inside the 5 s a revocation may take. */
export const SWEEP_MS = 1000;

/** Checks live sessions against the rules and ends what they no longer allow. */
export class Revoker {
  private timer: ReturnType<typeof setInterval> | null = null;
  private running: Promise<number> | null = null;
  private queued: Promise<number> | null = null;

  constructor(
    private readonly store: Store,
    private readonly sessions: LiveSessions,
    private readonly audit: Pick<AuditLog, 'record'>,
    private readonly log: Logger,
    private readonly everyMs = SWEEP_MS,
  ) {}

  /** Starts the periodic sweep (its timer never keeps the process alive). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.recheck(), this.everyMs);
    this.timer.unref();
  }

  /** Stops the sweep. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Sweeps now (after a share, team or user change) and resolves with the number of sessions
   * ended. A sweep already under way may have read the store before the change, so one more
   * follows it, shared by every caller that asks meanwhile.
   */
  recheck(): Promise<number> {
    if (!this.running) return (this.running = this.run());
    return (this.queued ??= this.running.then(() => {
      this.queued = null;
      return (this.running = this.run());
    }));
  }

  private run(): Promise<number> {
    const p: Promise<number> = this.sweep()
      .catch((err: unknown) => {
        this.log.warn({ err }, 'checking live sessions failed');
        return 0;
      })
      .finally(() => {
        if (this.running === p) this.running = null;
      });
    return p;
  }

  private async sweep(): Promise<number> {
    if (this.sessions.size === 0) return 0;
    let ended = 0;
    const now = Date.now();
    for (const group of this.sessions.groups().values()) {
      const first = group[0]!;
      const row = await this.store.db.selectFrom('workspaces').select(['id', 'owner_id', 'team_id']).where('id', '=', first.workspaceId).executeTakeFirst();
      if (!row) continue;
      const ref = { id: row.id, ownerId: row.owner_id, teamId: row.team_id ?? null };
      const { actor, facts } = await loadFacts(this.store, first.userId, ref, now);
      const d = can(actor, 'use', ref, facts);
      if (d.allowed) continue;
      const message = `Your access to workspace ${first.workspaceName} was revoked (${d.reason}); session closed.`;
      for (const s of group) {
        this.sessions.end(s, message);
        ended++;
        await this.audit.record({
          actorId: actor ? s.userId : null,
          actorName: s.userName,
          action: 'workspace.access.revoked',
          target: `workspace/${s.workspaceName}`,
          outcome: 'ok',
          sourceIp: s.source,
          detail: `${s.kind} session ended: ${d.reason}`,
        });
      }
    }
    return ended;
  }
}
