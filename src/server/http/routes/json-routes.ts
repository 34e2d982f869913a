/**
 * Every JSON route of the API, each a thin call into a service.
 */
import type { FastifyInstance } from 'fastify';
import { BERTH_VERSION, buildOpenApiDocument } from '../../../api/index.js';
import type { Services } from '../../services/index.js';
import type { Store } from '../../store/open.js';
import { followCreate } from './follow-create.js';
import { registerRoute } from './register.js';
// Web UI: kept terminals.
import { registerTerminalRoutes } from './terminal-routes.js';

/** Adds the JSON routes. */
export function registerJsonRoutes(app: FastifyInstance, store: Store, s: Services): void {
  registerRoute(app, store, 'health', async () => ({ status: 'ok' as const, version: BERTH_VERSION }));
  // Made once, on first request: it depends only on the code.
  let openapi: Record<string, unknown> | null = null;
  registerRoute(app, store, 'openapiGet', async () => (openapi ??= buildOpenApiDocument()));
  registerRoute(app, store, 'whoami', async ({ user }) => user);
  registerRoute(app, store, 'gatewayGet', async () => ({ ssh: s.workspaces.sshGateway }));

  registerRoute(app, store, 'nodesList', async ({ query }) => s.nodes.list(query));
  registerRoute(app, store, 'joinTokensPost', async ({ user, body }) => s.nodes.mintJoinToken(user, body.ttlSeconds));
  registerRoute(app, store, 'nodesJoinPost', async ({ body }) => s.nodes.join(body.token, body.name));
  // Placement.
  registerRoute(app, store, 'nodeGet', async ({ params }) => s.nodes.detail(params.name));
  registerRoute(app, store, 'nodeLabelsPost', async ({ params, body }) => s.nodes.label(params.name, body));
  registerRoute(app, store, 'nodeCordonPost', async ({ params }) => s.nodes.setCordoned(params.name, true));
  registerRoute(app, store, 'nodeUncordonPost', async ({ params }) => s.nodes.setCordoned(params.name, false));
  registerRoute(app, store, 'nodeDrainPost', async ({ user, params, body }) => ({ operation: await s.drain.drain(user, params.name, body) }));
  // Nodes added over SSH.
  registerRoute(app, store, 'nodesSshPost', async ({ user, body }) => ({ operation: await s.sshNodes.add(user, body) }));

  registerRoute(app, store, 'workspacesList', async ({ user, query }) => s.workspaces.list(user, query));
  registerRoute(
    app,
    store,
    'workspacesPost',
    async ({ user, body }) => s.workspaces.create(user, body),
    (ctx, write, closed) => followCreate(s, ctx.user, ctx.body, write, closed),
  );
  // Workspace specs: the detail carries the stored spec, ports their services.
  registerRoute(app, store, 'workspaceGet', async ({ user, params, ip }) => s.services.detail(user, params.name, { sourceIp: ip }));
  registerRoute(app, store, 'workspacePortsGet', async ({ user, params, ip }) => s.services.ports(user, params.name, { sourceIp: ip }));
  registerRoute(app, store, 'workspaceStartPost', async ({ user, params }) => ({ operation: await s.workspaces.transition(user, params.name, 'start') }));
  registerRoute(app, store, 'workspaceStopPost', async ({ user, params, body }) => ({
    operation: await s.workspaces.transition(user, params.name, 'stop', body),
  }));
  registerRoute(app, store, 'workspaceRestartPost', async ({ user, params, body }) => ({
    operation: await s.workspaces.transition(user, params.name, 'restart', body),
  }));
  registerRoute(app, store, 'workspaceDelete', async ({ user, params, body }) => ({
    operation: await s.workspaces.transition(user, params.name, 'delete', { force: body.force }),
  }));

  // Workspace services.
  registerRoute(app, store, 'workspaceServicesGet', async ({ user, params, ip }) => s.services.list(user, params.name, { sourceIp: ip }));
  registerRoute(app, store, 'workspaceServiceStartPost', async ({ user, params, ip }) =>
    s.services.action(user, params.name, params.service, 'start', { sourceIp: ip }),
  );
  registerRoute(app, store, 'workspaceServiceStopPost', async ({ user, params, ip }) =>
    s.services.action(user, params.name, params.service, 'stop', { sourceIp: ip }),
  );
  registerRoute(app, store, 'workspaceServiceRestartPost', async ({ user, params, ip }) =>
    s.services.action(user, params.name, params.service, 'restart', { sourceIp: ip }),
  );

  // Web UI: kept terminals (their keeping lives in the agent).
  registerTerminalRoutes(app, store, s);

  registerRoute(app, store, 'operationGet', async ({ user, params, ip }) => s.opAccess.get(user, params.id, { sourceIp: ip }));
  registerRoute(app, store, 'operationCancelPost', async ({ user, params, ip }) => ({ operation: await s.opAccess.cancel(user, params.id, { sourceIp: ip }) }));

  registerRoute(app, store, 'imagesList', async () => ({ images: await s.images.list() }));
  registerRoute(app, store, 'imagesPost', async ({ user, body }) => ({ operation: await s.images.build(user, body) }));

  registerRoute(app, store, 'usersList', async () => ({ users: await s.users.list() }));
  registerRoute(app, store, 'invitesPost', async ({ user, body }) => s.users.invite(user, body));
  // Teams and sharing: a removed user's live sessions end at once.
  // A disabled user's live sessions end at once: the recheck finds the permission function lets them do nothing.
  registerRoute(app, store, 'userDisablePost', async ({ user, params }) => {
    const disabled = await s.users.setDisabled(user, params.name, true);
    return { user: disabled, endedSessions: await s.revoker.recheck() };
  });
  registerRoute(app, store, 'userEnablePost', async ({ user, params }) => ({ user: await s.users.setDisabled(user, params.name, false) }));
  registerRoute(app, store, 'userDelete', async ({ user, params, body }) => s.users.remove(user, params.name, body).finally(() => void s.revoker.recheck()));
  registerRoute(app, store, 'registerPost', async ({ body }) => s.users.register(body));

  registerRoute(app, store, 'tokensList', async ({ user }) => ({ tokens: await s.users.tokens(user) }));
  registerRoute(app, store, 'tokensPost', async ({ user, body }) => s.users.createToken(user, body));
  registerRoute(app, store, 'tokenDelete', async ({ user, params }) => ({ token: await s.users.revokeToken(user, params.id) }));

  registerRoute(app, store, 'sshKeysList', async ({ user }) => ({ keys: await s.users.sshKeys(user) }));
  registerRoute(app, store, 'sshKeysPost', async ({ user, body }) => s.users.addSshKey(user, body.name, body.publicKey));
  registerRoute(app, store, 'sshKeyDelete', async ({ user, params }) => ({ key: await s.users.removeSshKey(user, params.id) }));

  // Configuration as code and dotfiles.
  registerRoute(app, store, 'configGet', async () => s.config.pull());
  registerRoute(app, store, 'configPush', async ({ user, body, ip }) => s.config.push(user, body, { sourceIp: ip }));
  registerRoute(app, store, 'dotfilesGet', async ({ user }) => ({ dotfiles: await s.dotfiles.show(user) }));
  registerRoute(app, store, 'dotfilesPut', async ({ user, body }) => s.dotfiles.set(user, body));
  registerRoute(app, store, 'dotfilesDelete', async ({ user }) => ({ dotfiles: await s.dotfiles.unset(user) }));
  registerRoute(app, store, 'workspaceDotfilesApplyPost', async ({ user, params, ip }) => s.dotfiles.apply(user, params.name, { sourceIp: ip }));

  // Teams and sharing.
  registerRoute(app, store, 'teamsList', async ({ user }) => ({ teams: await s.teams.list(user) }));
  registerRoute(app, store, 'teamsPost', async ({ user, body }) => s.teams.create(user, body));
  registerRoute(app, store, 'teamDelete', async ({ params }) => ({ team: await s.teams.remove(params.name) }));
  registerRoute(app, store, 'teamMembersPost', async ({ user, params, body }) => s.teams.addMember(user, params.name, body));
  registerRoute(app, store, 'teamMemberDelete', async ({ user, params }) => s.teams.removeMember(user, params.name, params.user));
  registerRoute(app, store, 'workspaceSharesGet', async ({ user, params, ip }) => ({ shares: await s.shares.list(user, params.name, { sourceIp: ip }) }));
  registerRoute(app, store, 'workspaceSharesPost', async ({ user, params, body, ip }) => s.shares.share(user, params.name, body, { sourceIp: ip }));
  registerRoute(app, store, 'workspaceShareDelete', async ({ user, params, body, ip }) => s.shares.unshare(user, params.name, body, { sourceIp: ip }));
  registerRoute(app, store, 'sharingPolicyGet', async () => ({ policy: await s.shares.policy() }));
  registerRoute(app, store, 'sharingPolicyPost', async ({ user, body }) => ({ policy: await s.shares.setPolicy(user, body.policy) }));
  registerRoute(app, store, 'auditList', async ({ user, query }) => ({ entries: await s.audit.list(user, query) }));
}
