/**
 * The preview front door: claims requests under `/w/` (and, with a preview domain, every
 * request whose Host is under it) before fastify routes anything, checks who is asking
 * (access.ts), decides whether the port can be reached (readiness.ts) and forwards
 * (forward.ts). Every failure is an answer; nothing thrown here escapes to the server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type ApiError, type BerthError, parsePreviewHost, parsePreviewPath, previewPrefix, toApiError } from '../../../api/index.js';
import { joinWorkspace } from '../../access/join.js';
import type { LiveSessions } from '../../access/live-sessions.js';
import type { AgentHub } from '../../agents/hub.js';
import type { AuditLog } from '../../audit/audit.js';
import type { Store } from '../../store/open.js';
import { isLoopbackHost } from '../../tls/names.js';
import { type Access, AccessCache, type PreviewWorkspace, resolveAccess } from './access.js';
import { type PreviewCredentials, previewNotFound } from './credentials.js';
import { forwardRequest, forwardUpgrade, PortAgent } from './forward.js';
import type { ForwardContext } from './headers.js';
import { rawError, sendError, sendStarting } from './pages.js';
import { PortSocket } from './port-socket.js';
import { previewReadiness } from './readiness.js';
import { PreviewServices } from './service-health.js';

/** Most connection pools kept at once (one per workspace port in use); past it the oldest closes. */
const MAX_POOLS = 512;

/** What the proxy needs of the server. */
export interface PreviewDeps {
  store: Store;
  hub: Pick<AgentHub, 'openPort' | 'isOnline' | 'onWorkspaceEnded' | 'services'>;
  creds: PreviewCredentials;
  /** The wildcard base of subdomain mode (`preview.example.com`), lowercase; absent without it. */
  domain?: string;
  tls: boolean;
  log: Logger;
  /** Teams and sharing: preview WebSockets are joins, ended when access is revoked (absent in tests). */
  live?: Pick<LiveSessions, 'add'>;
  audit?: Pick<AuditLog, 'record'>;
}

/** A request's preview target, however it was named. */
interface Target {
  name: string;
  port: number;
  /** Target for the service. */
  rest: string;
  prefix: string;
  cookiePath: string;
  /** The owner the URL names (subdomain mode, or `/w/OWNER.NAME/`); absent: the caller's own. */
  user?: string;
  /** Path mode without the slash after the port: redirect first. */
  bare: boolean;
}

/** Serves previews; `claims` says which requests are its. */
export class PreviewProxy {
  private readonly pools = new Map<string, PortAgent>();
  private readonly cache = new AccessCache();
  private readonly services: PreviewServices;

  constructor(private readonly d: PreviewDeps) {
    this.services = new PreviewServices(d.store, d.hub.services);
    d.hub.onWorkspaceEnded((ws) => {
      this.cache.forgetWorkspace(ws.id);
      this.services.forget(ws.id);
      for (const [key, agent] of this.pools) {
        if (key.startsWith(ws.id + ':')) {
          agent.destroy();
          this.pools.delete(key);
        }
      }
    });
  }

  /** True when the request is for a preview (a well-formed one or not), not for the API. */
  claims(req: IncomingMessage): boolean {
    if (this.d.domain && this.onPreviewHost(req.headers.host)) return true;
    return typeof req.url === 'string' && req.url.startsWith('/w/');
  }

  private onPreviewHost(host: string | undefined): boolean {
    if (typeof host !== 'string') return false;
    return host
      .toLowerCase()
      .replace(/:\d{1,5}$/, '')
      .endsWith('.' + this.d.domain);
  }

  private target(req: IncomingMessage): Target | null {
    const url = req.url ?? '';
    if (this.d.domain && this.onPreviewHost(req.headers.host)) {
      const t = parsePreviewHost(req.headers.host, this.d.domain);
      if (!t || !url.startsWith('/')) return null;
      return { ...t, rest: url, prefix: '', cookiePath: '/', bare: false };
    }
    const p = parsePreviewPath(url);
    if (!p) return null;
    // `/w/OWNER.NAME/` names the owner, as the subdomain form does; `/w/NAME/` is the caller's own.
    return {
      name: p.name,
      port: p.port,
      rest: p.rest,
      prefix: previewPrefix(p.segment, p.port),
      cookiePath: `/w/${p.segment}/`,
      bare: p.bare,
      ...(p.owner !== null ? { user: p.owner } : {}),
    };
  }

  private context(req: IncomingMessage, t: Target, dropAuthorization: boolean, upgrade: boolean): ForwardContext {
    return {
      port: t.port,
      prefix: t.prefix,
      proto: this.d.tls ? 'https' : 'http',
      host: String(req.headers.host ?? ''),
      clientIp: req.socket.remoteAddress ?? '',
      dropAuthorization,
      upgrade,
    };
  }

  private async access(req: IncomingMessage, t: Target): Promise<Access | null> {
    const hostName = String(req.headers.host ?? '')
      .replace(/:\d{1,5}$/, '')
      .replace(/^\[|\]$/g, '');
    const secure = this.d.tls || isLoopbackHost(hostName);
    const key = AccessCache.key(req, t.name, t.prefix + t.rest, t.user);
    const cached = key === null ? null : this.cache.get(key);
    if (cached) return cached;
    const a = await resolveAccess(this.d.store, this.d.creds, req, t.name, t.prefix + t.rest, { path: t.cookiePath, secure }, t.user);
    if (a?.kind === 'pass' && key !== null) this.cache.set(key, a);
    return a;
  }

  /** Serves a claimed request; never throws. */
  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    this.serve(req, res).catch((err: unknown) => {
      this.d.log.error({ err }, 'preview request failed');
      sendError(res, req.headers.accept, toApiError(err));
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const accept = req.headers.accept;
    const t = this.target(req);
    if (!t)
      return sendError(res, accept, {
        code: 'NOT_FOUND',
        message: 'No preview at this address; previews live at /w/NAME/p/PORT/ (open one with `berth preview NAME PORT`).',
      });
    if (t.bare) {
      const q = t.rest.indexOf('?');
      res.writeHead(308, { location: `${t.prefix}/${q >= 0 ? t.rest.slice(q) : ''}`, 'content-length': 0 });
      return void res.end();
    }
    const a = await this.access(req, t);
    if (!a) return sendError(res, accept, previewNotFound(t.name, t.port).toJSON());
    if (a.kind === 'redirect') {
      res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 302 : 307, {
        location: a.location,
        ...(a.cookie ? { 'set-cookie': a.cookie } : {}),
        'cache-control': 'no-store',
        'content-length': 0,
      });
      return void res.end();
    }
    const service = await this.services.serviceFor(a.ws, t.port);
    const ready = previewReadiness({ name: t.name, port: t.port, status: a.ws.status, nodeOnline: this.d.hub.isOnline(a.ws.nodeId), service });
    if (ready.state === 'starting') return sendStarting(res, accept, ready.why);
    if (ready.state === 'error') return sendError(res, accept, ready.error.toJSON());
    // The client may have left while it was being checked: open nothing for it.
    if (req.socket.destroyed) return;
    const failed = await forwardRequest(this.pool(a.ws, t.port), req, res, t.rest, this.context(req, t, a.dropAuthorization, false));
    if (!failed) return;
    this.answerFailure(res, accept, a.ws, t, failed.connectError, failed.error);
  }

  private answerFailure(
    res: ServerResponse,
    accept: string | undefined,
    ws: PreviewWorkspace,
    t: Target,
    connectError: ApiError | undefined,
    error: BerthError,
  ): void {
    if (!connectError) return sendError(res, accept, error.toJSON());
    const ready = previewReadiness({ name: t.name, port: t.port, status: ws.status, nodeOnline: true, connectError });
    if (ready.state === 'starting') return sendStarting(res, accept, ready.why);
    sendError(res, accept, ready.state === 'error' ? ready.error.toJSON() : error.toJSON());
  }

  /** Serves a claimed upgrade request (WebSocket); never throws. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    this.upgrade(req, socket, head).catch((err: unknown) => {
      this.d.log.error({ err }, 'preview upgrade failed');
      if (socket.writable) socket.end(rawError(toApiError(err)));
    });
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const t = this.target(req);
    const a = t && !t.bare ? await this.access(req, t) : null;
    if (!t || !a || a.kind !== 'pass')
      return void socket.end(rawError(t ? previewNotFound(t.name, t.port).toJSON() : { code: 'NOT_FOUND', message: 'No preview at this address.' }));
    const service = await this.services.serviceFor(a.ws, t.port);
    const ready = previewReadiness({ name: t.name, port: t.port, status: a.ws.status, nodeOnline: this.d.hub.isOnline(a.ws.nodeId), service });
    if (ready.state !== 'go')
      return void socket.end(ready.state === 'starting' ? rawError({ code: 'UNAVAILABLE', message: '' }, ready.why) : rawError(ready.error.toJSON()));
    if (socket.destroyed) return;
    let port: PortSocket;
    try {
      port = await PortSocket.open(this.d.hub, a.ws.nodeId, a.ws.id, t.port);
    } catch (err) {
      const after = previewReadiness({ name: t.name, port: t.port, status: a.ws.status, nodeOnline: true, connectError: toApiError(err) });
      return void socket.end(after.state === 'starting' ? rawError({ code: 'UNAVAILABLE', message: '' }, after.why) : rawError(toApiError(err)));
    }
    if (socket.destroyed) return void port.destroy();
    // Teams and sharing: the socket is a join by whoever the credentials name.
    const leave = joinWorkspace(
      this.d,
      { workspace: a.ws, user: { id: a.userId, name: a.userName }, kind: 'preview', source: req.socket.remoteAddress, detail: `port ${t.port}` },
      () => {
        socket.destroy();
        port.destroy();
      },
    );
    socket.once('close', leave);
    forwardUpgrade(port, req, socket, head, t.rest, this.context(req, t, a.dropAuthorization, true));
  }

  private pool(ws: PreviewWorkspace, port: number): PortAgent {
    const key = `${ws.id}:${port}`;
    let agent = this.pools.get(key);
    if (agent) return agent;
    if (this.pools.size >= MAX_POOLS) {
      const [oldKey, old] = this.pools.entries().next().value as [string, PortAgent];
      old.destroy();
      this.pools.delete(oldKey);
    }
    agent = new PortAgent(() => PortSocket.open(this.d.hub, ws.nodeId, ws.id, port));
    this.pools.set(key, agent);
    return agent;
  }

  /** Closes every pooled connection (server shutdown). */
  close(): void {
    for (const agent of this.pools.values()) agent.destroy();
    this.pools.clear();
  }
}
