/**
 * Serves the web UI built by `npm run build` (dist/web) at /: hashed assets under /assets/
 * with immutable caching, and index.html for every page path the UI routes itself, each
 * answer with a strict Content-Security-Policy (scripts and connections only from this
 * origin, nothing inline but styles, no framing).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BerthError, CSRF_META, WEB_SESSION_COOKIE } from '../../api/index.js';
import { csrfFor, readCookie } from '../auth/web/credentials.js';

/**
 * The policy of every UI answer. Styles may be inline because xterm.js writes its terminal's
 * colours into a <style> element; scripts may not.
 */
export const WEB_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/** The page paths the UI routes in the browser; each answers index.html. */
const PAGES = ['/', '/workspaces', '/workspaces/:name', '/workspaces/:name/terminal', '/workspaces/:name/watch/:id', '/nodes', '/images', '/users', '/audit'];

/** Where the built UI is: dist/web at the package root (from src/server/http or dist/server/http alike). */
export function defaultWebRoot(): string {
  return process.env.BERTH_WEB_DIR ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../../dist/web');
}

function securityHeaders(reply: FastifyReply): void {
  void reply
    .header('content-security-policy', WEB_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    // Web UI previews: a preview in path mode shares this origin; a page it opens with
    // window.open gets no handle on a UI page (nor on its CSRF value) across this.
    .header('cross-origin-opener-policy', 'same-origin');
}

/**
 * Web UI previews: the session's CSRF value, for index.html, only when a browser navigates to
 * the page itself (Sec-Fetch-*, which no script can set). A page of the same origin (a
 * workspace's preview in path mode) can fetch('/') but gets no value that way, and every
 * cookie-authenticated API request needs it (auth/web/authenticate.ts). The value is derived
 * from whatever session cookie came; a stale one is refused by GET /session as before.
 */
export function csrfForNavigation(req: Pick<FastifyRequest, 'headers'>): string | null {
  if (req.headers['sec-fetch-mode'] !== 'navigate' || req.headers['sec-fetch-dest'] !== 'document') return null;
  const token = readCookie(req.headers.cookie, WEB_SESSION_COOKIE);
  return token ? csrfFor(token) : null;
}

/** index.html with the CSRF meta element added (base64url: nothing in it needs escaping). */
export function withCsrfMeta(html: string, csrf: string): string {
  const meta = `<meta name="${CSRF_META}" content="${csrf}">`;
  const at = html.indexOf('</head>');
  return at < 0 ? meta + html : html.slice(0, at) + meta + html.slice(at);
}

/** Adds the UI's routes; without a built UI, its pages answer UNAVAILABLE saying how to build it. */
export async function registerWebStatic(app: FastifyInstance, root = defaultWebRoot()): Promise<void> {
  const built = existsSync(join(root, 'index.html'));
  await app.register(async (web) => {
    if (built) {
      // Only /assets/ is served from disk, looked up per request (a rebuild needs no restart).
      await web.register(fastifyStatic, {
        root: join(root, 'assets'),
        prefix: '/assets/',
        index: false,
        wildcard: true,
        serve: true,
        // The build writes .br and .gz copies (scripts/web-compress.mjs); browsers get those.
        preCompressed: true,
        // The headers are set below (send's own would overwrite them).
        cacheControl: false,
        setHeaders: (res) => {
          // Vite names every asset by its content hash, so a cached copy never goes stale.
          res.setHeader('cache-control', 'public, max-age=31536000, immutable');
          res.setHeader('content-security-policy', WEB_CSP);
          res.setHeader('x-content-type-options', 'nosniff');
        },
      });
    }
    for (const url of PAGES) {
      web.get(url, async (req, reply) => {
        if (!built)
          throw new BerthError('UNAVAILABLE', `The web UI is not built (no ${join(root, 'index.html')}); run \`npm run build\` and restart the server.`);
        securityHeaders(reply);
        const csrf = csrfForNavigation(req);
        if (csrf) {
          const html = await readFile(join(root, 'index.html'), 'utf8');
          return reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(withCsrfMeta(html, csrf));
        }
        return reply.header('cache-control', 'no-cache').sendFile('index.html', root, { cacheControl: false });
      });
    }
  });
}
