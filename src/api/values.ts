/**
 * Value formats shared by every side: names, sizes, durations. Each validator rejects with a
 * sentence that says what a good value looks like, so the CLI and the API say the same thing.
 */
import { z } from 'zod';
import { BerthError } from './errors.js';

/** DNS-label style names for workspaces, nodes and images: they end up in container names and SSH aliases. */
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export const nameSchema = z.string().regex(NAME_PATTERN, 'use 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit');

/**
 * Workspace ids as the server makes them (UUIDs), and as tests make them: they name
 * directories, containers and volumes on nodes, so nothing that could climb out of a directory
 * (`/`, `..`) or end a config line is allowed.
 */
export const WORKSPACE_ID_PATTERN = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export const workspaceIdSchema = z.string().regex(WORKSPACE_ID_PATTERN, 'use 1-128 letters, digits, dots, dashes and underscores');

/** Shell-style environment names, the only ones every provider can set. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;

/** Longest single argument or environment value: Linux refuses longer ones in execve (MAX_ARG_STRLEN is 128 KiB). */
export const MAX_ARG_LENGTH = 128 * 1024;

/** An argv element or environment value: bounded, and free of NUL, which no argv or environment can carry. */
export const argSchema = z
  .string()
  .max(MAX_ARG_LENGTH, `use at most ${MAX_ARG_LENGTH} characters`)
  .refine((s) => !s.includes('\0'), { message: 'remove the NUL character' });

/** Environment variables for a command or a workspace: shell-style names, bounded values, at most 256 of them. */
export const envSchema = z
  .record(z.string().regex(ENV_NAME_PATTERN, 'use NAME=VALUE with a shell-style NAME'), argSchema)
  .refine((env) => Object.keys(env).length <= 256, { message: 'set at most 256 variables' });

/** A node name derived from a host name, made to fit berth's name rules (`My_Box.local` → `my-box`). */
export function nodeNameFromHost(host: string): string {
  // Drop the domain: node names are short labels, and dots are not allowed in them.
  const label = host.split('.')[0] ?? '';
  const cleaned = label
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return NAME_PATTERN.test(cleaned) ? cleaned : 'node';
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  ki: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
};

/** Smallest memory a workspace may have: Docker refuses less than 6 MiB, and less is useless anyway. */
export const MIN_MEMORY_BYTES = 16 * 1024 ** 2;

/** Parses sizes like `512m`, `2g`, `1.5GiB` or a plain byte count; returns undefined when malformed. Units are binary. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2].toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Formats bytes for people: 2147483648 → "2.0 GiB". */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** A memory size given as text (`2g`) on the wire; validated and at least MIN_MEMORY_BYTES. */
export const memorySchema = z
  .string()
  .max(32, 'use a size such as 512m or 2g')
  .refine(
    (s) => {
      const n = parseSize(s);
      return n !== undefined && n >= MIN_MEMORY_BYTES;
    },
    { message: 'use a size such as 512m or 2g, at least 16m' },
  );

/** Parses durations like `30m`, `2h`, `45s`, `1d`; returns milliseconds or undefined. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!m) return undefined;
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * mult;
}

/** A TCP address to listen on or dial. */
export interface HostPort {
  host: string;
  port: number;
}

/** The host a bare port means: loopback, so a listener is never exposed by accident. */
export const DEFAULT_LISTEN_HOST = '127.0.0.1';

/** A host name or IPv4 address: DNS labels of letters, digits and dashes joined by dots. */
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const ipv6 = z.ipv6();

/**
 * Parses `HOST:PORT`, `[IPV6]:PORT` or a bare `PORT` (meaning 127.0.0.1:PORT); the port is
 * 1-65535. Returns undefined when malformed. The CLI, `berth server --listen` and
 * `--ssh-listen` all read addresses with this one parser, so they accept the same forms.
 */
export function parseHostPort(text: string): HostPort | undefined {
  const m = /^(?:(?:\[([^\]]*)\]|([^:[\]]*)):)?(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  if (m[1] !== undefined) return ipv6.safeParse(m[1]).success ? { host: m[1], port } : undefined;
  if (m[2] === undefined) return { host: DEFAULT_LISTEN_HOST, port };
  return HOST_NAME.test(m[2]) ? { host: m[2], port } : undefined;
}

/** True for loopback listen hosts (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/** Writes an address back as text, bracketing IPv6 hosts: `[::1]:7080`. */
export function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** The refusal for a malformed listen address, naming every accepted form. */
function invalidListen(text: string, field: string, offAllowed: boolean): BerthError {
  const forms = 'HOST:PORT such as 127.0.0.1:7080 or 0.0.0.0:7080, [IPV6]:PORT such as [::1]:7080, or a bare PORT for 127.0.0.1';
  return new BerthError('INVALID_ARGUMENT', `Invalid listen address "${text}": use ${forms}${offAllowed ? ', or off' : ''}.`, { field });
}

/** Parses a listen address like parseHostPort, throwing INVALID_ARGUMENT on `field` that shows the accepted forms. */
export function parseListenAddress(text: string, field: string): HostPort {
  const a = parseHostPort(text);
  if (!a) throw invalidListen(text, field, false);
  return a;
}

/** Parses a listen address that may also be `off` (returned as null), for listeners that can be turned off. */
export function parseOptionalListenAddress(text: string, field: string): HostPort | null {
  if (text.trim() === 'off') return null;
  const a = parseHostPort(text);
  if (!a) throw invalidListen(text, field, true);
  return a;
}
