/**
 * GET /workspaces/:name/terminals: the terminals the workspace's node keeps (the web UI's),
 * every one to whoever may use the workspace (they may watch them read-only, for pairing).
 */
import type { FastifyInstance } from 'fastify';
import type { WorkspaceTerminals } from '../../../api/index.js';
import type { Services } from '../../services/index.js';
import type { Store } from '../../store/open.js';
import { registerRoute } from './register.js';

/** Adds the kept-terminals route. */
export function registerTerminalRoutes(app: FastifyInstance, store: Store, s: Services): void {
  registerRoute(app, store, 'workspaceTerminalsGet', async ({ user, params, ip }): Promise<WorkspaceTerminals> => {
    const ws = await s.workspaces.forExec(user, params.name, { sourceIp: ip });
    const { terminals } = await s.hub.request(ws.nodeId, 'terminal.list', { workspaceId: ws.id }, 15_000);
    // forExec let the caller use the workspace, so they may watch every terminal kept there.
    return {
      workspace: ws.ref,
      terminals: terminals.map(({ ownerId: _, ...t }) => t),
    };
  });
}
