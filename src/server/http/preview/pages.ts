/**
 * What a preview answers when it does not pass the service's answer on: berth's JSON error
 * shape for API clients, a small HTML page for browsers (anyone whose Accept names text/html),
 * and the "starting" page, a 503 that reloads itself every 2 s until the port answers.
 */
import type { ServerResponse } from 'node:http';
import { type ApiError, ERROR_CODES } from '../../../api/index.js';

/** Seconds between reloads of the starting page. */
export const STARTING_REFRESH_S = 2;

/** True when the client is a browser that wants a page rather than JSON. */
export function wantsHtml(accept: string | undefined): boolean {
  return typeof accept === 'string' && accept.includes('text/html');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string, refresh: boolean): string {
  return (
    '<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">' +
    (refresh ? `<meta http-equiv="refresh" content="${STARTING_REFRESH_S}">` : '') +
    `<title>${escapeHtml(title)}</title><style>body{font:16px system-ui,sans-serif;margin:4em auto;max-width:36em;padding:0 1em;color:#222}small{color:#666}</style></head>` +
    `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(body)}</p><small>berth preview</small></body></html>\n`
  );
}

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...extra });
  res.end(body);
}

/** Answers with an error: its status, as JSON or as a page. */
export function sendError(res: ServerResponse, accept: string | undefined, error: ApiError): void {
  const status = ERROR_CODES[error.code];
  if (wantsHtml(accept)) send(res, status, 'text/html; charset=utf-8', page(status === 404 ? 'Not found' : 'Preview unavailable', error.message, false));
  else send(res, status, 'application/json; charset=utf-8', JSON.stringify(error));
}

/** Answers with the starting page (503, reloads itself; JSON clients get UNAVAILABLE and Retry-After). */
export function sendStarting(res: ServerResponse, accept: string | undefined, why: string): void {
  const retry = { 'retry-after': String(STARTING_REFRESH_S) };
  if (wantsHtml(accept))
    send(
      res,
      503,
      'text/html; charset=utf-8',
      page('Starting…', `${why} This page reloads every ${STARTING_REFRESH_S} seconds until it answers.`, true),
      retry,
    );
  else send(res, 503, 'application/json; charset=utf-8', JSON.stringify({ code: 'UNAVAILABLE', message: `${why} Retry in a moment.`, field: 'port' }), retry);
}

/** A raw HTTP answer for an upgrade request that cannot be passed on (the socket is not an HTTP response yet). */
export function rawError(error: ApiError, why?: string): string {
  const status = why ? 503 : ERROR_CODES[error.code];
  const body = JSON.stringify(why ? { code: 'UNAVAILABLE', message: `${why} Retry in a moment.`, field: 'port' } : error);
  return `HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : status === 503 ? 'Service Unavailable' : 'Error'}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
