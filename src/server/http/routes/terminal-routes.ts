/**
 * GET /workspaces/:name/terminals: the terminals the workspace's node keeps (the web UI's),
 * the caller's own, or every one for someone who may watch them (access/terminal-view.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { WorkspaceTerminals } from '../../../api/index.js';
import { mayWatchTerminals } from '../../access/terminal-view.js';
import type { Services } from '../../services/index.js';
import type { Store } from '../../store/open.js';
import { registerRoute } from './register.js';

/** Adds the kept-terminals route. */
export function registerTerminalRoutes(app: FastifyInstance, store: Store, s: Services): void {
  registerRoute(app, store, 'workspaceTerminalsGet', async ({ user, params, ip }): Promise<WorkspaceTerminals> => {
    const ws = await s.workspaces.forExec(user, params.name, { sourceIp: ip });
    const { terminals } = await s.hub.request(ws.nodeId, 'terminal.list', { workspaceId: ws.id }, 15_000);
    const all = mayWatchTerminals(user, ws);
    return {
      workspace: ws.name,
      terminals: terminals.filter((t) => t.ownerId === user.id || all).map(({ ownerId: _, ...t }) => t),
    };
  });
}
