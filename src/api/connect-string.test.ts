/** Connect strings and fingerprints: round trips, and garbage always answered with INVALID_ARGUMENT, never a throw. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CONNECT_STRING_PREFIX,
  type ConnectString,
  formatConnectString,
  normalizeFingerprint,
  parseConnectString,
  tryParseConnectString,
} from './connect-string.js';
import { BerthError } from './errors.js';

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const serverArb = fc.oneof(
  fc
    .webUrl({ validSchemes: ['http', 'https'], withQueryParameters: false, withFragments: false })
    .filter((u) => !new URL(u).username && !new URL(u).password && u.length <= 2048 && !new URL(u).search && !new URL(u).hash),
  fc.constantFrom('https://127.0.0.1:7080', 'http://[::1]:7080', 'https://berth.example.com'),
);
const connectArb: fc.Arbitrary<ConnectString> = fc.record(
  {
    kind: fc.constantFrom('join' as const, 'invite' as const),
    server: serverArb,
    secret: fc.string({ minLength: 1, maxLength: 512, unit: 'grapheme' }),
    fingerprint: hex64.map((h) => `sha256:${h}`),
  },
  { requiredKeys: ['kind', 'server', 'secret'] },
);

describe('connect strings', () => {
  it('round-trips every valid value', () => {
    fc.assert(
      fc.property(connectArb, (v) => {
        const text = formatConnectString(v);
        expect(text.startsWith(CONNECT_STRING_PREFIX)).toBe(true);
        expect(/^[A-Za-z0-9._-]+$/.test(text)).toBe(true);
        expect(parseConnectString(text, v.kind, 'x')).toEqual(v);
      }),
    );
  });

  it('never throws on garbage: INVALID_ARGUMENT with the field', () => {
    const garbage = fc.oneof(
      fc.anything(),
      fc.string(),
      fc.string().map((s) => CONNECT_STRING_PREFIX + s),
      fc.base64String().map((s) => CONNECT_STRING_PREFIX + s.replace(/=/g, '')),
      fc.json().map((j) => CONNECT_STRING_PREFIX + Buffer.from(j).toString('base64url')),
    );
    fc.assert(
      fc.property(garbage, (g) => {
        const r = tryParseConnectString(g, 'join', 'join-token');
        if (!r.ok) {
          expect(r.error).toBeInstanceOf(BerthError);
          expect(r.error.code).toBe('INVALID_ARGUMENT');
          expect(r.error.field).toBe('join-token');
        }
      }),
    );
  });

  it('a changed character is refused or parses to a different value, never to the same one', () => {
    fc.assert(
      fc.property(connectArb, fc.nat(), fc.constantFrom('A', '_', '-', 'z', '0'), (v, at, ch) => {
        const text = formatConnectString(v);
        const i = CONNECT_STRING_PREFIX.length + (at % (text.length - CONNECT_STRING_PREFIX.length));
        if (text[i] === ch) return;
        const r = tryParseConnectString(text.slice(0, i) + ch + text.slice(i + 1), v.kind, 'x');
        if (r.ok) expect(r.value).not.toEqual(v);
      }),
    );
  });

  it('refuses a string of the other kind, naming what it is', () => {
    const text = formatConnectString({ kind: 'invite', server: 'https://a.example', secret: 's' });
    const r = tryParseConnectString(text, 'join', 'join-token');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/user invite code/);
  });

  it('refuses a too-long string and a bare token', () => {
    expect(tryParseConnectString(CONNECT_STRING_PREFIX + 'A'.repeat(5000), 'join', 'f').ok).toBe(false);
    expect(tryParseConnectString('bjoin_abc', 'join', 'f').ok).toBe(false);
  });

  it('format refuses an invalid value instead of printing it', () => {
    expect(() => formatConnectString({ kind: 'join', server: 'ftp://x', secret: 's' })).toThrow();
    expect(() => formatConnectString({ kind: 'join', server: 'https://x', secret: 's', fingerprint: 'sha256:12' })).toThrow();
  });
});

describe('fingerprints', () => {
  it('accepts openssl form and any case, canonicalising to lowercase hex', () => {
    fc.assert(
      fc.property(hex64, fc.boolean(), fc.boolean(), (h, upper, colons) => {
        let body = upper ? h.toUpperCase() : h;
        if (colons) body = body.match(/../g)!.join(':');
        expect(normalizeFingerprint(`sha256:${body}`)).toBe(`sha256:${h}`);
      }),
    );
  });

  it('never throws; anything else is null', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const n = normalizeFingerprint(s);
        if (n !== null) expect(n).toMatch(/^sha256:[0-9a-f]{64}$/);
      }),
    );
    expect(normalizeFingerprint('sha1:' + 'a'.repeat(40))).toBeNull();
    expect(normalizeFingerprint('sha256:' + 'a'.repeat(63))).toBeNull();
  });
});
