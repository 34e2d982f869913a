/**
 * Joining a workspace through a lasting session: the join is audited with who it is, and the
 * session is registered so a revocation can end it (live-sessions.ts, revoker.ts).
 */
import type { AuditLog } from '../audit/audit.js';
import type { LiveKind, LiveSessions } from './live-sessions.js';

/** Who joins which workspace, how and from where. */
export interface JoinInfo {
  workspace: { id: string; name: string; owner?: string };
  user: { id: string; name: string };
  kind: LiveKind;
  source?: string;
  /** What was joined, for the audit line (a command, a port). */
  detail?: string;
}

/** Audits the join (unless `audit` is absent) and registers the session; returns the function that unregisters it. */
export function joinWorkspace(
  deps: { live?: Pick<LiveSessions, 'add'>; audit?: Pick<AuditLog, 'record'> },
  info: JoinInfo,
  close: (message: string) => void,
): () => void {
  if (deps.audit) {
    void deps.audit.record({
      actorId: info.user.id,
      actorName: info.user.name,
      action: 'workspace.join',
      // Names are unique per owner: the target names both when the owner is known.
      target: `workspace/${info.workspace.owner ? `${info.workspace.owner}/` : ''}${info.workspace.name}`,
      outcome: 'ok',
      sourceIp: info.source,
      detail: info.detail ? `${info.kind}: ${info.detail}` : info.kind,
    });
  }
  if (!deps.live) return () => {};
  return deps.live.add({
    workspaceId: info.workspace.id,
    workspaceName: info.workspace.name,
    userId: info.user.id,
    userName: info.user.name,
    kind: info.kind,
    source: info.source,
    close,
  });
}
