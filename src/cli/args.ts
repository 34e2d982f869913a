/**
 * Parsers for option values. They throw INVALID_ARGUMENT naming the option, so a bad value
 * exits with the usage status and a message that says what a good value looks like.
 */
import { BerthError, formatHostPort, parseDuration, parseListenAddress, parseOptionalListenAddress } from '../api/index.js';

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

/** Parses a duration such as `90s`, `15m` or `1h` (or `0s`) into milliseconds. */
export function parseDurationMs(text: string, field: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 0) {
    throw new BerthError('INVALID_ARGUMENT', `Invalid ${field} "${text}": use a duration such as 0s, 45s, 30m or 1h.`, { field });
  }
  return ms;
}

/** Parses a comma-separated list (`a,b, c`), dropping empty items. */
export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Checks `--listen` with the contract's one address parser, so a typo fails before the server loads; returns it as HOST:PORT. */
export function parseListen(text: string): string {
  return formatHostPort(parseListenAddress(text, 'listen'));
}

/** Checks `--ssh-listen` (an address, or `off`) the same way; returns HOST:PORT or `off`. */
export function parseSshListenOption(text: string): string {
  const a = parseOptionalListenAddress(text, 'sshListen');
  return a ? formatHostPort(a) : 'off';
}

/** Checks `--metrics-listen` (HOST:PORT, [IPV6]:PORT, or a bare port for 127.0.0.1); returns it as HOST:PORT. */
export function parseMetricsListen(text: string): string {
  return formatHostPort(parseListenAddress(text, 'metricsListen'));
}
