/**
 * What a preview changes in the headers on the way to the service and back. To the service:
 * hop-by-hop headers go (Node frames the body itself), berth's own credential never reaches it
 * (the preview cookie is cut out of Cookie, a bearer token that authenticated is dropped),
 * forwarding headers a client sent are replaced by ours, and Host is `localhost:PORT` so dev
 * servers that check Host (Vite, webpack) answer as they would locally. From the service: its
 * redirects to its own root are moved under the preview prefix.
 */
import { PREVIEW_COOKIE, WEB_SESSION_COOKIE } from '../../../api/index.js';

/** Header values as Node's http module takes them. */
export type HeaderBag = Record<string, string | string[]>;

/** Hop-by-hop headers (RFC 9110 7.6.1) and the ones the proxy sets itself. */
const DROP_TO_SERVICE = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'expect',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-prefix',
  'x-forwarded-port',
  'x-real-ip',
]);

const DROP_FROM_SERVICE = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'trailer', 'upgrade']);

/** How the request reached berth. */
export interface ForwardContext {
  port: number;
  /** `/w/NAME/p/PORT` in path mode, '' in subdomain mode. */
  prefix: string;
  proto: 'http' | 'https';
  /** The Host the client sent. */
  host: string;
  clientIp: string;
  /** True when the Authorization header carried berth's token (then the service must not see it). */
  dropAuthorization: boolean;
  /** Keep Upgrade/Connection: the request is a protocol switch (WebSocket). */
  upgrade: boolean;
}

/** Names listed in Connection, which are hop-by-hop too. */
function connectionTokens(raw: string[]): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() !== 'connection') continue;
    for (const t of raw[i + 1].split(',')) out.add(t.trim().toLowerCase());
  }
  return out;
}

/** berth's own cookies: the preview credential and the web UI's session (a service must never see the viewer's session). */
const BERTH_COOKIES = new Set([PREVIEW_COOKIE, WEB_SESSION_COOKIE]);

/** Removes berth's cookies (the preview's and the web session's) from a Cookie header value; '' when nothing is left. */
export function withoutPreviewCookie(value: string): string {
  return value
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c.length > 0 && !BERTH_COOKIES.has(c.split('=', 1)[0].trim()))
    .join('; ');
}

/** The headers the service gets, from the client's raw headers. */
export function headersToService(raw: string[], ctx: ForwardContext): HeaderBag {
  const listed = connectionTokens(raw);
  const out: HeaderBag = {};
  const add = (name: string, value: string) => {
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  };
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    let value = raw[i + 1];
    if (DROP_TO_SERVICE.has(name) || (listed.has(name) && !(ctx.upgrade && name === 'upgrade'))) continue;
    if (name === 'authorization' && ctx.dropAuthorization) continue;
    if (name === 'cookie') {
      value = withoutPreviewCookie(value);
      if (value === '') continue;
      // HTTP/1.1 wants one Cookie header; browsers send one anyway.
      const prev = out.cookie;
      out.cookie = typeof prev === 'string' ? `${prev}; ${value}` : value;
      continue;
    }
    add(name, value);
  }
  if (ctx.upgrade) {
    const up = raw.findIndex((v, i) => i % 2 === 0 && v.toLowerCase() === 'upgrade');
    if (up >= 0) out.upgrade = raw[up + 1];
    out.connection = 'Upgrade';
  }
  out.host = `localhost:${ctx.port}`;
  out['x-forwarded-host'] = ctx.host;
  out['x-forwarded-proto'] = ctx.proto;
  out['x-forwarded-for'] = ctx.clientIp;
  if (ctx.prefix) out['x-forwarded-prefix'] = ctx.prefix;
  return out;
}

/** Serialises a request head for a raw (upgrade) connection. */
export function requestHead(method: string, target: string, headers: HeaderBag): string {
  let head = `${method} ${target} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
  }
  return head + '\r\n';
}

/** Whether a Set-Cookie value names one of berth's cookies. */
function setsBerthCookie(value: string): boolean {
  return BERTH_COOKIES.has(value.split('=', 1)[0].trim());
}

/** The response headers the client gets, as a flat raw list (names as the service spelt them). */
export function headersToClient(raw: string[], ctx: Pick<ForwardContext, 'port' | 'prefix' | 'host'>): string[] {
  const listed = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (DROP_FROM_SERVICE.has(name) || listed.has(name)) continue;
    // Path mode shares berth's origin: a service worker a preview registers must stay under its
    // prefix (the default scope), never widened to `/` where it would see the web UI's requests.
    if (name === 'service-worker-allowed' && ctx.prefix) continue;
    // Nor may a preview act on the UI's pages there: its own opener policy would let a page it
    // opens (the UI's, `same-origin`) share its browsing context group and be read, and
    // Clear-Site-Data would sign the viewer out of berth.
    if (ctx.prefix && (name === 'cross-origin-opener-policy' || name === 'clear-site-data')) continue;
    // In either mode (a subdomain can set a cookie for its parent domain) a cookie of berth's
    // name would replace the viewer's session or preview credential with someone else's.
    if (name === 'set-cookie' && setsBerthCookie(raw[i + 1])) continue;
    out.push(raw[i], name === 'location' ? rewriteLocation(raw[i + 1], ctx) : raw[i + 1]);
  }
  return out;
}

/**
 * A redirect to the service's own root, moved under the prefix: `/login` becomes
 * `/w/NAME/p/PORT/login`, and an absolute URL at localhost:PORT (or the Host the client used)
 * becomes the same root-relative form. Anything else (another site, a relative path, a path
 * already under the prefix) is left alone.
 */
export function rewriteLocation(value: string, ctx: Pick<ForwardContext, 'port' | 'prefix' | 'host'>): string {
  if (value.startsWith('/') && !value.startsWith('//')) {
    if (!ctx.prefix || value === ctx.prefix || value.startsWith(ctx.prefix + '/') || value.startsWith(ctx.prefix + '?')) return value;
    return ctx.prefix + value;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return value;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return value;
  const own = new Set([`localhost:${ctx.port}`, `127.0.0.1:${ctx.port}`, `[::1]:${ctx.port}`, ctx.host.toLowerCase()]);
  if (ctx.port === 80 || ctx.port === 443) own.add('localhost').add('127.0.0.1').add('[::1]');
  if (!own.has(url.host.toLowerCase())) return value;
  const path = url.pathname + url.search + url.hash;
  return rewriteLocation(path, ctx);
}
