/**
 * Parsers for option values. They throw INVALID_ARGUMENT naming the option, so a bad value
 * exits with the usage status and a message that says what a good value looks like.
 */
import { BerthError, parseDuration } from '../api/index.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses one `-e NAME=VALUE`; the value may contain `=` and may be empty. */
export function parseEnvAssignment(text: string): [string, string] {
  const eq = text.indexOf('=');
  const name = eq < 0 ? text : text.slice(0, eq);
  if (eq < 0 || !ENV_NAME.test(name)) {
    throw new BerthError('INVALID_ARGUMENT', `Invalid environment variable "${text}": use NAME=VALUE with a shell-style NAME, for example -e DEBUG=1.`, {
      field: 'env',
    });
  }
  return [name, text.slice(eq + 1)];
}

/** Commander collector for repeated `-e NAME=VALUE`: later assignments of a name win. */
export function collectEnv(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const [name, value] = parseEnvAssignment(text);
  return { ...previous, [name]: value };
}

/** Parses `--cpus`: a positive number, fractions allowed (`0.5`). */
export function parseCpus(text: string): number {
  const n = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || !(n > 0)) {
    throw new BerthError('INVALID_ARGUMENT', `Invalid cpus "${text}": use a positive number such as 2 or 0.5.`, { field: 'cpus' });
  }
  return n;
}

/** Parses a whole number of seconds such as `--timeout 30`. */
export function parseSeconds(text: string, field: string): number {
  if (!/^\s*\d+\s*$/.test(text)) {
    throw new BerthError('INVALID_ARGUMENT', `Invalid ${field} "${text}": use a whole number of seconds such as 30.`, { field });
  }
  return Number(text);
}

/** Parses a token lifetime such as `30m` or `2h` into whole seconds. */
export function parseTtlSeconds(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1000) {
    throw new BerthError('INVALID_ARGUMENT', `Invalid ttl "${text}": use a duration such as 45s, 30m, 2h or 1d.`, { field: 'ttl' });
  }
  return Math.floor(ms / 1000);
}

/** Parses a comma-separated list (`a,b, c`), dropping empty items. */
export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Checks `--listen HOST:PORT` (IPv6 hosts in brackets, or a bare port) so a typo fails before the server loads. */
export function parseListen(text: string): string {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:\s]+):)?(\d{1,5})$/.exec(text.trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw new BerthError('INVALID_ARGUMENT', `Invalid listen address "${text}": use HOST:PORT, for example 127.0.0.1:7080 or 0.0.0.0:7080.`, {
      field: 'listen',
    });
  }
  return text.trim();
}

/** Checks `--ssh-listen HOST:PORT` or `off` before the server loads. */
export function parseSshListenOption(text: string): string {
  if (text.trim() === 'off') return 'off';
  try {
    return parseListen(text);
  } catch {
    throw new BerthError('INVALID_ARGUMENT', `Invalid SSH listen address "${text}": use HOST:PORT such as 127.0.0.1:2222, or off.`, { field: 'sshListen' });
  }
}
