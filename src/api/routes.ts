/**
 * The HTTP route table: one place that names every path, its request body and its response,
 * so the server registers exactly these and the client calls exactly these.
 */
import { z } from 'zod';
// Configuration as code and dotfiles.
import { configDocumentSchema, configPushResultSchema, configPushSchema } from './config.js';
import { dotfilesApplySchema, dotfilesGetSchema, dotfilesPutSchema, dotfilesSchema } from './dotfiles.js';

import { gatewayGetSchema } from './gateway.js';
// Paged lists.
import { nodesQuerySchema, workspacesQuerySchema } from './lists.js';
import { nodeDetailSchema } from './node-detail.js';
// Node trust: the CA, credential rotation, removal.
import { caSchema, credentialRotatedSchema, nodeDeletedSchema, nodeDeleteSchema } from './node-trust.js';
import { nodeDrainPostSchema, nodeLabelsPostSchema } from './placement.js';
import { workspacePortsSchema } from './ports.js';
// HTTP previews.
import { previewPostSchema, previewSchema } from './previews.js';
import {
  healthSchema,
  imageSchema,
  imagesPostSchema,
  joinTokenSchema,
  joinTokensPostSchema,
  nodeCredentialSchema,
  nodeSchema,
  nodesJoinPostSchema,
  operationSchema,
  workspaceDeleteSchema,
  workspaceSchema,
  workspaceStopPostSchema,
} from './resources.js';
// Workspace specs and services.
import { serviceActionResultSchema, workspaceCreateSchema, workspaceDetailSchema, workspaceServicesSchema } from './services.js';
import { nodesSshPostSchema } from './ssh-nodes.js';
// Teams and sharing.
import { shareDeleteSchema, shareSchema, sharesPostSchema, sharingPolicyBodySchema, teamMembersPostSchema, teamSchema, teamsPostSchema } from './teams.js';
// Web UI: kept terminals.
import { workspaceTerminalsSchema } from './terminals.js';
import {
  apiTokenSchema,
  auditEntrySchema,
  auditQuerySchema,
  inviteSchema,
  invitesPostSchema,
  registeredSchema,
  registerPostSchema,
  sshKeySchema,
  sshKeysPostSchema,
  tokenCreatedSchema,
  tokensPostSchema,
  userDeleteSchema,
  userSchema,
} from './users.js';
// Web UI: sign-in links and browser sessions.
import { sessionPostSchema, signInLinkSchema, signInLinksPostSchema, webSessionSchema } from './web-session.js';

export const API_PREFIX = '/api/v1';

const operationResult = z.object({ operation: operationSchema });

/**
 * Every JSON route: method, path (fastify syntax), the success status when it is not 200,
 * auth, body and response schemas. The server registers exactly these, the client calls
 * exactly these, and GET /openapi.json is made from them (openapi.ts).
 */
export const routes = {
  health: { method: 'GET', path: '/health', auth: 'none', body: null, response: healthSchema },
  /** This API's OpenAPI 3.1 document (openapi.ts), public like the API's shape itself. */
  openapiGet: { method: 'GET', path: '/openapi.json', auth: 'none', body: null, response: z.record(z.string(), z.unknown()) },
  whoami: { method: 'GET', path: '/whoami', auth: 'user', body: null, response: userSchema },
  gatewayGet: { method: 'GET', path: '/gateway', auth: 'user', body: null, response: gatewayGetSchema },

  // Lists are paged (lists.ts): `nextCursor` continues them, null at the end (and absent from
  // a server from before paging, which answered everything at once).
  nodesList: {
    method: 'GET',
    path: '/nodes',
    auth: 'user',
    body: null,
    query: nodesQuerySchema,
    response: z.object({ nodes: z.array(nodeSchema), nextCursor: z.string().nullable().default(null) }),
  },
  joinTokensPost: { method: 'POST', path: '/nodes/join-tokens', status: 201, auth: 'admin', body: joinTokensPostSchema, response: joinTokenSchema },
  nodesJoinPost: { method: 'POST', path: '/nodes/join', status: 201, auth: 'none', body: nodesJoinPostSchema, response: nodeCredentialSchema },
  // Placement: node detail, labels, cordon and drain; admin only, audited as mutations.
  nodeGet: { method: 'GET', path: '/nodes/:name', auth: 'admin', body: null, response: nodeDetailSchema },
  nodeLabelsPost: { method: 'POST', path: '/nodes/:name/labels', auth: 'admin', body: nodeLabelsPostSchema, response: nodeSchema },
  nodeCordonPost: { method: 'POST', path: '/nodes/:name/cordon', auth: 'admin', body: null, response: nodeSchema },
  nodeUncordonPost: { method: 'POST', path: '/nodes/:name/uncordon', auth: 'admin', body: null, response: nodeSchema },
  nodeDrainPost: { method: 'POST', path: '/nodes/:name/drain', status: 202, auth: 'admin', body: nodeDrainPostSchema, response: operationResult },
  // The CA clients pin (no auth: it is how a client checks a fingerprint
  // before it trusts anything), rotating a node's credential and removing (revoking) a node.
  caGet: { method: 'GET', path: '/ca', auth: 'none', body: null, response: caSchema },
  nodeRotateCredentialPost: { method: 'POST', path: '/nodes/:name/rotate-credential', auth: 'admin', body: null, response: credentialRotatedSchema },
  nodeDelete: { method: 'DELETE', path: '/nodes/:name', auth: 'admin', body: nodeDeleteSchema, response: nodeDeletedSchema },
  // Nodes added over SSH.
  nodesSshPost: { method: 'POST', path: '/nodes/ssh', status: 202, auth: 'admin', body: nodesSshPostSchema, response: operationResult },

  workspacesList: {
    method: 'GET',
    path: '/workspaces',
    auth: 'user',
    body: null,
    query: workspacesQuerySchema,
    response: z.object({ workspaces: z.array(workspaceSchema), nextCursor: z.string().nullable().default(null) }),
  },
  workspacesPost: {
    method: 'POST',
    path: '/workspaces',
    status: 202,
    auth: 'user',
    // Workspace specs: the plain create's fields plus an optional project spec.
    body: workspaceCreateSchema,
    response: z.object({ workspace: workspaceSchema, operation: operationSchema }),
  },
  workspaceGet: { method: 'GET', path: '/workspaces/:name', auth: 'user', body: null, response: workspaceDetailSchema },
  workspacePortsGet: { method: 'GET', path: '/workspaces/:name/ports', auth: 'user', body: null, response: workspacePortsSchema },
  workspaceStartPost: { method: 'POST', path: '/workspaces/:name/start', status: 202, auth: 'user', body: null, response: operationResult },
  workspaceStopPost: { method: 'POST', path: '/workspaces/:name/stop', status: 202, auth: 'user', body: workspaceStopPostSchema, response: operationResult },
  workspaceRestartPost: {
    method: 'POST',
    path: '/workspaces/:name/restart',
    status: 202,
    auth: 'user',
    body: workspaceStopPostSchema,
    response: operationResult,
  },
  workspaceDelete: { method: 'DELETE', path: '/workspaces/:name', status: 202, auth: 'user', body: workspaceDeleteSchema, response: operationResult },

  // Workspace services (owner only, like every workspace route).
  workspaceServicesGet: { method: 'GET', path: '/workspaces/:name/services', auth: 'user', body: null, response: workspaceServicesSchema },
  workspaceServiceStartPost: {
    method: 'POST',
    path: '/workspaces/:name/services/:service/start',
    auth: 'user',
    body: null,
    response: serviceActionResultSchema,
  },
  workspaceServiceStopPost: { method: 'POST', path: '/workspaces/:name/services/:service/stop', auth: 'user', body: null, response: serviceActionResultSchema },
  workspaceServiceRestartPost: {
    method: 'POST',
    path: '/workspaces/:name/services/:service/restart',
    auth: 'user',
    body: null,
    response: serviceActionResultSchema,
  },

  // Web UI: the workspace's kept terminals (yours; every one for who may watch them).
  workspaceTerminalsGet: { method: 'GET', path: '/workspaces/:name/terminals', auth: 'user', body: null, response: workspaceTerminalsSchema },

  operationGet: { method: 'GET', path: '/operations/:id', auth: 'user', body: null, response: operationSchema },
  operationCancelPost: { method: 'POST', path: '/operations/:id/cancel', status: 202, auth: 'user', body: null, response: operationResult },

  imagesList: { method: 'GET', path: '/images', auth: 'user', body: null, response: z.object({ images: z.array(imageSchema) }) },
  imagesPost: { method: 'POST', path: '/images', status: 202, auth: 'admin', body: imagesPostSchema, response: operationResult },

  usersList: { method: 'GET', path: '/users', auth: 'admin', body: null, response: z.object({ users: z.array(userSchema) }) },
  invitesPost: { method: 'POST', path: '/users/invites', status: 201, auth: 'admin', body: invitesPostSchema, response: inviteSchema },
  userDelete: {
    method: 'DELETE',
    path: '/users/:name',
    auth: 'admin',
    body: userDeleteSchema,
    response: z.object({ user: userSchema, deletedWorkspaces: z.array(z.string()), transferredWorkspaces: z.array(z.string()) }),
  },
  // Disabling a user keeps them and their workspaces but ends every way in (tokens, keys, sessions).
  userDisablePost: {
    method: 'POST',
    path: '/users/:name/disable',
    auth: 'admin',
    body: null,
    response: z.object({ user: userSchema, endedSessions: z.number() }),
  },
  userEnablePost: { method: 'POST', path: '/users/:name/enable', auth: 'admin', body: null, response: z.object({ user: userSchema }) },
  registerPost: { method: 'POST', path: '/register', status: 201, auth: 'none', body: registerPostSchema, response: registeredSchema },

  tokensList: { method: 'GET', path: '/tokens', auth: 'user', body: null, response: z.object({ tokens: z.array(apiTokenSchema) }) },
  tokensPost: { method: 'POST', path: '/tokens', status: 201, auth: 'user', body: tokensPostSchema, response: tokenCreatedSchema },
  tokenDelete: { method: 'DELETE', path: '/tokens/:id', auth: 'user', body: null, response: z.object({ token: apiTokenSchema }) },

  sshKeysList: { method: 'GET', path: '/ssh-keys', auth: 'user', body: null, response: z.object({ keys: z.array(sshKeySchema) }) },
  sshKeysPost: { method: 'POST', path: '/ssh-keys', status: 201, auth: 'user', body: sshKeysPostSchema, response: sshKeySchema },
  sshKeyDelete: { method: 'DELETE', path: '/ssh-keys/:id', auth: 'user', body: null, response: z.object({ key: sshKeySchema }) },

  // HTTP previews: a one-time token that opens /w/NAME/p/PORT/ in a browser (previews.ts).
  previewPost: { method: 'POST', path: '/workspaces/:name/previews', auth: 'user', body: previewPostSchema, response: previewSchema },

  auditList: { method: 'GET', path: '/audit', auth: 'user', body: null, query: auditQuerySchema, response: z.object({ entries: z.array(auditEntrySchema) }) },

  // Web UI: a one-time sign-in link (`berth ui`), the browser session, signing in with a typed
  // API token, and signing out. Sessions live in an HTTP-only cookie (web-session.ts).
  signInLinksPost: { method: 'POST', path: '/web/sign-in-links', status: 201, auth: 'user', body: signInLinksPostSchema, response: signInLinkSchema },
  sessionGet: { method: 'GET', path: '/session', auth: 'user', body: null, response: webSessionSchema },
  sessionPost: { method: 'POST', path: '/session', auth: 'none', body: sessionPostSchema, response: webSessionSchema },
  sessionDelete: { method: 'DELETE', path: '/session', auth: 'user', body: null, response: z.object({ signedOut: z.boolean() }) },

  // Configuration as code (config.ts): the live configuration with its revision, and a push
  // (one transaction, refused when stale; with dryRun, only the diff). Admin only.
  configGet: { method: 'GET', path: '/config', auth: 'admin', body: null, response: configDocumentSchema },
  configPush: { method: 'POST', path: '/config', auth: 'admin', body: configPushSchema, response: configPushResultSchema },
  // Dotfiles per user (dotfiles.ts), and applying them again in one of the user's workspaces.
  dotfilesGet: { method: 'GET', path: '/dotfiles', auth: 'user', body: null, response: dotfilesGetSchema },
  dotfilesPut: { method: 'PUT', path: '/dotfiles', auth: 'user', body: dotfilesPutSchema, response: dotfilesSchema },
  dotfilesDelete: { method: 'DELETE', path: '/dotfiles', auth: 'user', body: null, response: dotfilesGetSchema },
  workspaceDotfilesApplyPost: { method: 'POST', path: '/workspaces/:name/dotfiles/apply', auth: 'user', body: null, response: dotfilesApplySchema },
  // Teams and sharing: teams (admins create and remove them; team admins manage members),
  // shares of a workspace (who may grant them is decided by the one permission function), and
  // the server's sharing policy (admins set it).
  teamsList: { method: 'GET', path: '/teams', auth: 'user', body: null, response: z.object({ teams: z.array(teamSchema) }) },
  teamsPost: { method: 'POST', path: '/teams', status: 201, auth: 'admin', body: teamsPostSchema, response: teamSchema },
  teamDelete: { method: 'DELETE', path: '/teams/:name', auth: 'admin', body: null, response: z.object({ team: teamSchema }) },
  teamMembersPost: { method: 'POST', path: '/teams/:name/members', auth: 'user', body: teamMembersPostSchema, response: teamSchema },
  teamMemberDelete: {
    method: 'DELETE',
    path: '/teams/:name/members/:user',
    auth: 'user',
    body: null,
    response: z.object({ team: teamSchema, endedSessions: z.number() }),
  },
  workspaceSharesGet: { method: 'GET', path: '/workspaces/:name/shares', auth: 'user', body: null, response: z.object({ shares: z.array(shareSchema) }) },
  workspaceSharesPost: { method: 'POST', path: '/workspaces/:name/shares', status: 201, auth: 'user', body: sharesPostSchema, response: shareSchema },
  workspaceShareDelete: {
    method: 'DELETE',
    path: '/workspaces/:name/shares',
    auth: 'user',
    body: shareDeleteSchema,
    response: z.object({ share: shareSchema, endedSessions: z.number() }),
  },
  sharingPolicyGet: { method: 'GET', path: '/settings/sharing-policy', auth: 'user', body: null, response: sharingPolicyBodySchema },
  sharingPolicyPost: { method: 'POST', path: '/settings/sharing-policy', auth: 'admin', body: sharingPolicyBodySchema, response: sharingPolicyBodySchema },
} as const;

export type RouteName = keyof typeof routes;
/** A route's success status: 201 for what it creates at once, 202 for what an operation carries out, else 200. */
export function successStatus(name: RouteName): 200 | 201 | 202 {
  const def = routes[name];
  return 'status' in def ? def.status : 200;
}
export type RouteResponse<R extends RouteName> = z.infer<(typeof routes)[R]['response']>;

/** Streaming routes, outside the JSON table because their bodies are streams. */
export const streams = {
  /** Newline-delimited OperationEvent JSON until a `done` event; replays what already happened. */
  operationEvents: '/operations/:id/events',
  /** WebSocket speaking the frames in exec.ts. */
  workspaceExec: '/workspaces/:name/exec',
  /** WebSocket speaking the agent protocol; authenticated with a node credential. */
  agentConnect: '/agent/connect',
  /** WebSocket carrying one TCP connection to a port on the workspace's loopback (frames in ports.ts). */
  workspacePortConnect: '/workspaces/:name/ports/:port/connect',
  /** Newline-delimited ServiceLogsFrame JSON: a service's output (query in services.ts). */
  workspaceServiceLogs: '/workspaces/:name/services/:service/logs',
} as const;

// Metrics: routes whose answer is text, not JSON.
/**
 * Routes that answer plain text rather than JSON, so `routes` (whose responses are zod schemas
 * of JSON bodies) cannot hold them. `produces` names the text format.
 */
export const textRoutes = {
  /** The server's Prometheus metrics; an admin's API token (or the unauthenticated `--metrics-listen`). */
  metrics: { method: 'GET', path: '/metrics', auth: 'admin', produces: 'prometheus-text' },
} as const;

/** Fills `:param` placeholders in a path. */
export function fillPath(path: string, params: Record<string, string> = {}): string {
  return path.replace(/:([a-zA-Z]+)/g, (_, k: string) => {
    const v = params[k];
    if (v === undefined) throw new Error(`missing path parameter ${k}`);
    return encodeURIComponent(v);
  });
}
