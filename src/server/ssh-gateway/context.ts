/**
 * What the gateway needs from the rest of the server, narrowed to the calls it makes, and the
 * per-connection facts every handler shares. Keeping the dependencies this small is what keeps
 * the gateway provider-neutral: it only ever runs commands through the agent hub.
 */
import type { Logger } from 'pino';
import type { ServerChannel } from 'ssh2';
import type { ExecRequest, User, Workspace } from '../../api/index.js';
import type { LiveSessions } from '../access/live-sessions.js';
import type { AgentHub } from '../agents/hub.js';
import type { AuditLog } from '../audit/audit.js';
import { type SessionUser, withSessionDefaults } from '../services/spec/session-defaults.js';
import type { WorkspacesService } from '../services/workspaces.js';

/** The server parts the gateway uses. */
export interface GatewayDeps {
  /** `onWorkspaceEnded` lets the gateway drop connections to a workspace that stopped, `openPort` forwards without a helper command; both optional for test hubs. */
  hub: Pick<AgentHub, 'openExec'> & Partial<Pick<AgentHub, 'onWorkspaceEnded' | 'openPort'>>;
  workspaces: Pick<WorkspacesService, 'forExec'>;
  audit: Pick<AuditLog, 'record'>;
  /** The user a public key belongs to, or null. */
  userForKey: (algo: string, keyBlob: Buffer) => Promise<User | null>;
  log: Logger;
  /** Workspace specs: the user and workdir sessions get (services/spec/session-defaults.ts); absent in test worlds without specs. */
  sessionUser?: (ws: Workspace) => Promise<SessionUser | null>;
  /** Teams and sharing: where connections register, so a revoked share ends them (absent in tests that need no revocation). */
  live?: Pick<LiveSessions, 'add'>;
  /** Where berth-in is inside workspaces (default /.berth/bin/berth-in); tests that run commands on the host point it at the build. */
  berthInPath?: string;
}

/** One authenticated SSH connection. */
export interface ConnContext {
  deps: GatewayDeps;
  log: Logger;
  user: User;
  /** The SSH user name: the workspace the client asked for. */
  workspaceName: string;
  /** `ip:port` of the client. */
  source: string;
  /** The workspace, checked afresh (ownership, running, node online) for every channel. */
  resolveWorkspace: () => Promise<Workspace>;
  /**
   * Resolves once the connection's `ssh -R` requests so far are answered. ssh sends them
   * before its session and does not wait for the replies, so a command waits on this to find
   * its forwarded ports listening, as with sshd.
   */
  forwardsSettled?: () => Promise<void>;
  /** Teams and sharing: the connection's running shell and exec channels, told why when access is revoked. */
  channels?: Set<ServerChannel>;
}

/**
 * `request` as a session of `ws`: run as its spec's user, in its workdir, else (`home`) in that
 * user's home, by the one rule of services/spec/session-defaults.ts. Shells, commands, SFTP and
 * the `ssh -A` socket all go through this.
 */
export async function asSession(
  deps: Pick<GatewayDeps, 'sessionUser'>,
  ws: Workspace,
  request: ExecRequest,
  opts: { home?: boolean } = {},
): Promise<ExecRequest> {
  return withSessionDefaults(request, deps.sessionUser ? await deps.sessionUser(ws) : null, opts);
}

/** Records an audit entry about this connection's workspace. */
export function audit(ctx: ConnContext, action: string, outcome: 'ok' | 'denied' | 'error', detail: string): void {
  void ctx.deps.audit.record({
    actorId: ctx.user.id,
    actorName: ctx.user.name,
    action,
    target: `workspace/${ctx.workspaceName}`,
    outcome,
    sourceIp: ctx.source,
    detail,
  });
}

/** Makes untrusted text (a client's user name, command) safe to echo back and to log. */
export function printable(text: string, max = 200): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this escapes
  const clean = text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
