/**
 * The audit log: who did what, when, from where, and how it ended. Every mutating API call,
 * every SSH session's start and end, and every denial is recorded. Entries keep the actor's
 * name as text so they outlive the user.
 */
import type { Logger } from 'pino';
import type { AuditEntry, User } from '../../api/index.js';
import type { Store } from '../store/open.js';

/** One thing to record. */
export interface AuditRecord {
  actorId: string | null;
  actorName: string;
  action: string;
  target?: string;
  outcome: 'ok' | 'denied' | 'error';
  sourceIp?: string;
  detail?: string;
}

/** Writes and reads the audit log. */
export class AuditLog {
  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  /** Records an entry; a failure to record is logged, never thrown into the caller's path. */
  async record(e: AuditRecord): Promise<void> {
    try {
      await this.store.db
        .insertInto('audit_log')
        .values({
          at: new Date().toISOString(),
          actor_id: e.actorId,
          actor_name: e.actorName,
          action: e.action,
          target: e.target ?? null,
          outcome: e.outcome,
          source_ip: e.sourceIp ?? null,
          detail: e.detail ?? null,
        })
        .execute();
    } catch (err) {
      this.log.error({ err, entry: e }, 'could not write an audit entry');
    }
  }

  /** Entries, newest first; members see only their own. */
  async list(viewer: User, q: { user?: string; since?: string; limit: number }): Promise<AuditEntry[]> {
    let query = this.store.db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(q.limit);
    if (viewer.role !== 'admin') query = query.where('actor_id', '=', viewer.id);
    if (q.user) query = query.where('actor_name', '=', q.user);
    if (q.since) query = query.where('at', '>=', new Date(q.since).toISOString());
    const rows = await query.execute();
    return rows.map((r) => ({
      id: Number(r.id),
      at: r.at,
      actor: r.actor_name,
      action: r.action,
      target: r.target,
      outcome: r.outcome,
      sourceIp: r.source_ip,
      detail: r.detail,
    }));
  }
}
