/**
 * Hostile inputs for the fuzz suite: strings, numbers and JSON values that have broken servers
 * before (traversal, NUL, lone surrogates, huge numbers, prototype keys), mixed with values that
 * pass validation, so cases reach past the first check into the services behind it.
 */
import fc from 'fast-check';

/** Strings that are each a known way to trip a parser, a path join or a shell. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '../',
  '../../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  '/etc/passwd',
  '\u0000',
  'a\u0000b',
  '%00',
  '%',
  '%zz',
  '\ud800',
  '\udfff\ud800',
  '😀',
  'é',
  '\u202e',
  '\r\n',
  'a\nb',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '$(reboot)',
  '`id`',
  "'; DROP TABLE workspaces; --",
  '*',
  '?',
  '#',
  '-',
  '--help',
  '.',
  '..',
  'null',
  'undefined',
  'NaN',
  '1e309',
  '-1',
  '0x10',
  'busybox ',
  'debian:../x',
  'sha256:',
  'a'.repeat(64),
  'a'.repeat(300),
  'x'.repeat(70_000),
  'ssh-ed25519 AAAA',
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI' + 'A'.repeat(40) + ' x',
  '2026-11-21T08:00:00Z',
  'dev@example.com',
];

/** Names that pass berth's name rule, so a case can reach the service behind validation. */
export const VALID_NAMES = ['a', 'fuzz', 'fuzz-1', 'x'.repeat(63), '0', 'nope'];

/** A string that is nasty, random unicode, long, or a valid name. */
export function hostileString(extra: string[] = []): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...NASTY_STRINGS, ...extra) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 2000 }) },
    { weight: 2, arbitrary: fc.constantFrom(...VALID_NAMES, ...extra) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom('..', '.', 'a', '%2e', '\u0000', '~'), { maxLength: 6 }).map((p) => p.join('/')) },
  );
}

/** Numbers at and past every limit JSON can carry. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, -1, 1, 0.5, 1e-300, 1e21, 1e308, -1e308, 2 ** 53, 2 ** 53 + 2, 2 ** 31, 2 ** 63, 3600, 3601, 1024, 1025, 10, 9),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, with hostile leaves and (sometimes) prototype keys at any depth. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString(),
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileString(['__proto__', 'constructor', 'prototype']), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/**
 * A JSON object shaped like `keys` (a route body's fields), each value missing, from its pool
 * (right type, hostile content) or, when `anyType`, sometimes any JSON at all.
 */
export function shapedBody(keys: string[], pools: Record<string, fc.Arbitrary<unknown>> = {}, anyType = true): fc.Arbitrary<Record<string, unknown>> {
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const k of keys)
    fields[k] = anyType ? fc.oneof({ weight: 2, arbitrary: pools[k] ?? hostileJson }, { weight: 1, arbitrary: hostileJson }) : (pools[k] ?? hostileJson);
  return fc.record(fields, { requiredKeys: [] });
}

/** Serialises a body, sometimes with `__proto__` / `constructor` as literal own keys in the text. */
export function withPrototypeKeys(body: unknown, how: 'none' | 'proto' | 'constructor'): string {
  const text = JSON.stringify(body) ?? 'null';
  if (how === 'none' || !text.startsWith('{')) return text;
  const inject = how === 'proto' ? '"__proto__":{"role":"admin","isAdmin":true}' : '"constructor":{"prototype":{"role":"admin"}}';
  return text === '{}' ? `{${inject}}` : `{${inject},${text.slice(1)}`;
}

/**
 * Percent-encodes what an HTTP request line cannot carry (controls, spaces, non-ASCII, lone
 * surrogates) and leaves the rest raw, so `../`, `%` and `?` reach the server as typed.
 */
export function rawPathSegment(s: string): string {
  let out = '';
  for (const ch of s) {
    if (/^[\x21-\x7e]$/.test(ch) && ch !== '#') out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).padStart(2, '0').toUpperCase()}`;
  }
  return out;
}
