/**
 * HTTP previews of a workspace's ports through the server: the URL forms (a path under the
 * server, `/w/NAME/p/PORT/` for the caller's own workspace and `/w/OWNER.NAME/p/PORT/` for
 * another's, and with a wildcard base domain a host, `PORT--NAME--USER.BASE`),
 * their strict parsers, and the route that mints a one-time token to open one in a browser.
 */
import { z } from 'zod';
import { parsePortParam } from './ports.js';
import { NAME_PATTERN } from './values.js';
import { parseSshUser } from './workspace-ref.js';

/** Query parameter that carries a one-time preview token (traded for a cookie, then dropped from the URL). */
export const PREVIEW_TOKEN_PARAM = 'berth_token';

/** Name of the cookie that holds a preview credential. */
export const PREVIEW_COOKIE = 'berth_preview';

/** Longest request target the preview parsers look at; longer ones are not previews. */
export const MAX_PREVIEW_URL = 8192;

/** Body of POST /workspaces/:name/previews. */
export const previewPostSchema = z.strictObject({
  port: z.number().int().min(1).max(65535),
});
export type PreviewPost = z.input<typeof previewPostSchema>;

/** A preview and the one-time token that opens it in a browser (valid once, for `expiresAt`). */
export const previewSchema = z.object({
  workspace: z.string(),
  port: z.number().int(),
  /** Path on the server, with the token: `/w/NAME/p/PORT/?berth_token=…`. */
  path: z.string(),
  /** Host name of the subdomain form (`PORT--NAME--USER.BASE`), or null when the server has no preview domain or the names do not fit one DNS label. */
  host: z.string().nullable(),
  token: z.string(),
  expiresAt: z.string(),
});
export type Preview = z.infer<typeof previewSchema>;

/** What a preview URL names. */
export interface PreviewTarget {
  name: string;
  port: number;
}

/**
 * The path prefix of a workspace port's preview, without a trailing slash. `segment` is the
 * workspace as the viewer names it over SSH: `NAME` (their own) or `OWNER.NAME` (sshUserFor).
 */
export function previewPrefix(segment: string, port: number): string {
  return `/w/${segment}/p/${port}`;
}

/** A preview request target split into what it names and the path the service sees. */
export interface ParsedPreviewPath extends PreviewTarget {
  /** The owner a `/w/OWNER.NAME/` path names; null for `/w/NAME/` (the caller's own). */
  owner: string | null;
  /** The workspace segment as sent (`NAME` or `OWNER.NAME`). */
  segment: string;
  /** The target for the service: `/` plus whatever followed the prefix, query included. */
  rest: string;
  /** True when the prefix had no slash after the port (`/w/a/p/80` or `/w/a/p/80?x`): browsers need a redirect to `…/80/`. */
  bare: boolean;
}

const PATH_RE = /^\/w\/([^/?#]{1,127})\/p\/([^/?#]{1,5})(\/[^#]*|\?[^#]*)?$/;

/**
 * Parses a raw request target (as sent, never decoded) into a preview target, or null when it
 * is not one. Only the name and port segments are judged (strictly: a workspace name, a TCP
 * port without leading zeros); what follows goes to the service untouched.
 */
export function parsePreviewPath(url: string): ParsedPreviewPath | null {
  if (typeof url !== 'string' || url.length > MAX_PREVIEW_URL || !url.startsWith('/w/')) return null;
  const m = PATH_RE.exec(url);
  if (!m) return null;
  const [, segment, portText, tail] = m;
  // `NAME` or `OWNER.NAME`; never a `/` form (the segment holds none).
  const ref = parseSshUser(segment);
  if (!ref) return null;
  const port = parsePortParam(portText);
  if (port === null || String(port) !== portText) return null;
  const named = { name: ref.name, owner: ref.owner, segment, port };
  if (tail === undefined || tail.startsWith('?')) return { ...named, rest: '/' + (tail ?? ''), bare: true };
  return { ...named, rest: tail, bare: false };
}

/** True when a request target is under the preview space `/w/` at all (a preview or a malformed one, never the API). */
export function isPreviewSpace(url: string): boolean {
  return typeof url === 'string' && url.startsWith('/w/');
}

/** The first DNS label of a subdomain preview, or null when it cannot be one (names with `--`, or too long for a label). */
export function previewHostLabel(port: number, name: string, user: string): string | null {
  if (name.includes('--') || user.includes('--')) return null;
  const label = `${port}--${name}--${user}`;
  return label.length <= 63 ? label : null;
}

/** A preview base domain as given to the server: lowercase DNS labels, at least two. */
export const PREVIEW_DOMAIN_PATTERN = /^(?=.{3,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** A preview target from a Host header (`PORT--NAME--USER.BASE[:port]`), or null when it is not one under `base`. */
export function parsePreviewHost(host: string | undefined, base: string): (PreviewTarget & { user: string }) | null {
  if (typeof host !== 'string' || host.length > 260) return null;
  const bare = host.toLowerCase().replace(/:\d{1,5}$/, '');
  const suffix = '.' + base;
  if (!bare.endsWith(suffix)) return null;
  const label = bare.slice(0, -suffix.length);
  if (label.length === 0 || label.length > 63 || label.includes('.')) return null;
  const parts = label.split('--');
  if (parts.length !== 3) return null;
  const [portText, name, user] = parts;
  const port = parsePortParam(portText);
  if (port === null || String(port) !== portText) return null;
  if (!NAME_PATTERN.test(name) || !NAME_PATTERN.test(user)) return null;
  return { port, name, user };
}
