/**
 * Every live way into a workspace that outlasts one request: SSH connections (shells, exec,
 * SFTP, -L/-R/-D forwards), exec WebSockets (`ws exec`, web terminals), port-forward sockets
 * and preview WebSockets. Each registers who holds it on which workspace and how to end it,
 * so a revocation (unshare, expiry, leaving a team, a removed user) can end exactly those
 * (revoker.ts).
 */

/** The kinds of live session, for audit lines. */
export type LiveKind = 'ssh' | 'exec' | 'terminal' | 'port-forward' | 'preview' | 'service-logs';

/** One live session. */
export interface LiveSession {
  workspaceId: string;
  workspaceName: string;
  userId: string;
  userName: string;
  kind: LiveKind;
  source?: string;
  /** Ends the session, telling its client `message` where the protocol has a way to. */
  close(message: string): void;
}

/** The registry. */
export class LiveSessions {
  private readonly all = new Set<LiveSession>();

  /** Registers a session; the returned function unregisters it (call it when it ends by itself). */
  add(session: LiveSession): () => void {
    this.all.add(session);
    return () => void this.all.delete(session);
  }

  /** Removes and ends a session. */
  end(session: LiveSession, message: string): void {
    if (!this.all.delete(session)) return;
    try {
      session.close(message);
    } catch {
      // A session whose socket is already gone has nothing left to end.
    }
  }

  /** The sessions now, grouped by workspace and user. */
  groups(): Map<string, LiveSession[]> {
    const out = new Map<string, LiveSession[]>();
    for (const s of this.all) {
      const key = `${s.workspaceId}\0${s.userId}`;
      const list = out.get(key);
      if (list) list.push(s);
      else out.set(key, [s]);
    }
    return out;
  }

  /** How many sessions are registered. */
  get size(): number {
    return this.all.size;
  }
}
