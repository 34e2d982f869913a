/**
 * HTTP previews of workspace ports (docs/previews.md): the route that mints a one-time token,
 * and the front door that hands preview requests to the proxy before fastify sees them.
 */
import type { Server } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import {
  API_PREFIX,
  BerthError,
  fromZodError,
  PREVIEW_TOKEN_PARAM,
  type Preview,
  previewHostLabel,
  previewPostSchema,
  previewPrefix,
  routes,
  sshUserFor,
} from '../../../api/index.js';
import { sessionId } from '../../auth/web/sessions.js';
import type { Services } from '../../services/index.js';
import { auditRef } from '../../services/workspace-resolve.js';
import type { Store } from '../../store/open.js';
import { authenticate, bearerToken } from '../app.js';
import { previewAllowed } from './access.js';
import { loadPreviewKey, PreviewCredentials, tokenCaller } from './credentials.js';
import { PreviewProxy } from './proxy.js';

export { PreviewProxy } from './proxy.js';
export { previewReadiness } from './readiness.js';

/** Settings of previews from the server's flags. */
export interface PreviewOptions {
  dataDir: string;
  /** `--preview-domain`: the wildcard base of subdomain mode. */
  domain?: string;
  tls: boolean;
}

/**
 * Adds the mint route, then (once every other route and plugin is in) puts the proxy in front
 * of the app's own request and upgrade handlers. Call it last, before `listen`.
 */
export async function startPreview(app: FastifyInstance, store: Store, s: Services, opts: PreviewOptions, log: Logger): Promise<PreviewProxy> {
  const creds = new PreviewCredentials(await loadPreviewKey(opts.dataDir));
  const domain = opts.domain?.toLowerCase();
  registerMintRoute(app, store, s, creds, domain);
  const proxy = new PreviewProxy({ store, hub: s.hub, creds, domain, tls: opts.tls, log: log.child({ component: 'preview' }), live: s.live, audit: s.audit });
  await app.ready();
  mountFrontDoor(app.server, proxy);
  return proxy;
}

/** POST /workspaces/:name/previews: a one-time token for a preview of a port, for an API token or (web UI previews) a browser session. */
function registerMintRoute(app: FastifyInstance, store: Store, s: Services, creds: PreviewCredentials, domain: string | undefined): void {
  app.route({
    method: routes.previewPost.method,
    url: API_PREFIX + routes.previewPost.path,
    handler: async (req, reply) => {
      req.routeName = 'previewPost';
      const user = await authenticate(store, req);
      // The credential the preview is bound to: the API token, or (web UI previews) the browser
      // session, whose CSRF header `authenticate` has checked; signing out then ends the preview.
      const bound = await previewCredential(store, req);
      const { name } = req.params as { name: string };
      req.auditTarget = auditRef(name, user);
      const parsed = previewPostSchema.safeParse(req.body ?? {});
      if (!parsed.success) throw fromZodError(parsed.error);
      // Teams and sharing: previews are for whoever may `use` the workspace, but not through server-admin rights alone (see access.ts).
      const ws = await s.workspaces.get(user, name, { sourceIp: req.ip }, 'use');
      const row = await store.db.selectFrom('workspaces').select(['owner_id', 'team_id']).where('id', '=', ws.id).executeTakeFirstOrThrow();
      if (!(await previewAllowed(store, user.id, { id: ws.id, ownerId: row.owner_id, teamId: row.team_id ?? null })))
        throw new BerthError(
          'NOT_FOUND',
          `No workspace named ${ws.ref} of yours or shared with you; previews are for those who may use a workspace (see \`berth ws ls\`).`,
          { field: 'name' },
        );
      const port = parsed.data.port;
      const { token, expiresAt } = creds.mintOneTime({ userId: user.id, workspaceId: ws.id, ...bound });
      // The host names the owner, whoever asks (a guest's preview is of the owner's workspace).
      const label = domain ? previewHostLabel(port, ws.name, ws.owner) : null;
      const body: Preview = {
        workspace: ws.ref,
        port,
        // `/w/NAME/` for the caller's own workspace, `/w/OWNER.NAME/` for another's (names per owner).
        path: `${previewPrefix(sshUserFor(ws, user.name), port)}/?${PREVIEW_TOKEN_PARAM}=${token}`,
        host: label ? `${label}.${domain}` : null,
        token,
        expiresAt: expiresAt.toISOString(),
      };
      return reply.status(201).send(body);
    },
  });
}

/** What a new preview is bound to: the request's API token, or (web UI previews) its browser session. */
async function previewCredential(store: Store, req: FastifyRequest): Promise<{ tokenId: string } | { sessionId: string }> {
  if (req.webSession) {
    const id = await sessionId(store, req.webSession.token);
    if (id) return { sessionId: id };
    throw new BerthError('UNAUTHENTICATED', 'Your browser session has ended (signed out or expired); sign in again with a link from `berth ui`.');
  }
  const caller = await tokenCaller(store, bearerToken(req) ?? '');
  if (!caller) throw new BerthError('UNAUTHENTICATED', 'That API token is not valid (unknown or revoked); log in again with a current token.');
  return { tokenId: caller.tokenId };
}

/**
 * Puts the proxy in front of the server's request and upgrade listeners (fastify's and the
 * WebSocket plugin's): a claimed request never reaches them, every other request reaches
 * them exactly as before.
 */
export function mountFrontDoor(server: Server, proxy: PreviewProxy): void {
  const onRequest = server.listeners('request') as Array<(...args: unknown[]) => void>;
  const onUpgrade = server.listeners('upgrade') as Array<(...args: unknown[]) => void>;
  server.removeAllListeners('request');
  server.removeAllListeners('upgrade');
  server.on('request', (req, res) => {
    if (proxy.claims(req)) return proxy.handleRequest(req, res);
    for (const l of onRequest) l.call(server, req, res);
  });
  server.on('upgrade', (req, socket, head) => {
    if (proxy.claims(req)) return proxy.handleUpgrade(req, socket, head);
    for (const l of onUpgrade) l.call(server, req, socket, head);
  });
}
