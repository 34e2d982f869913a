/**
 * Server addresses as users type them (`berth.example.com:7080`, `http://127.0.0.1:7080/`)
 * turned into the one canonical form the client builds every URL from.
 */
import { BerthError } from '../api/index.js';

/** Normalises a server address to `scheme://host[:port][/base]` without a trailing slash; plain `host:port` means http. */
export function normalizeServerUrl(text: string): string {
  const trimmed = text.trim();
  // People paste `127.0.0.1:7080` as often as a full URL; treat a missing scheme as http.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw invalidServer(text);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidServer(text);
  if (url.search || url.hash || url.username || url.password) throw invalidServer(text);
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/** The WebSocket URL for an HTTP URL of the same server: http → ws, https → wss. */
export function toWebSocketUrl(httpUrl: string): string {
  return httpUrl.replace(/^http(s?):\/\//, 'ws$1://');
}

function invalidServer(text: string): BerthError {
  return new BerthError('INVALID_ARGUMENT', `"${text}" is not a berth server address; use a URL such as http://127.0.0.1:7080.`, { field: 'server' });
}
