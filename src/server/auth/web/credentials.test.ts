/**
 * Property tests of the browser-auth parsers: whatever a Cookie, CSRF or Origin header holds,
 * nothing throws, a session token is read only from a well-formed cookie of that name, and
 * no CSRF value but the session's own is accepted.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csrfFor, csrfMatches, needsCsrf, originMatchesHost, readCookie } from './credentials.js';

const token = fc.stringMatching(/^bsess_[A-Za-z0-9_-]{43}$/);
const headerValue = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.constant(undefined),
);

describe('readCookie', () => {
  it('never throws, and returns null or a well-formed token', () => {
    fc.assert(
      fc.property(headerValue, (h) => {
        const v = readCookie(h as string | string[] | undefined, 'berth_session');
        expect(v === null || /^[A-Za-z0-9_-]{1,512}$/.test(v)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('finds the session among other cookies, in any order and spacing', () => {
    fc.assert(
      fc.property(
        token,
        fc.array(
          fc.tuple(
            fc.stringMatching(/^[a-z]{1,8}$/).filter((n) => n !== 'berth_session'),
            fc.stringMatching(/^[^;]{0,20}$/),
          ),
          { maxLength: 5 },
        ),
        fc.nat(5),
        fc.constantFrom(';', '; ', ' ;  '),
        (t, others, at, sep) => {
          const parts = others.map(([n, v]) => `${n}=${v}`);
          parts.splice(Math.min(at, parts.length), 0, `berth_session=${t}`);
          expect(readCookie(parts.join(sep), 'berth_session')).toBe(t);
        },
      ),
    );
  });

  it('does not take a cookie whose name merely contains the session cookie’s', () => {
    expect(readCookie('xberth_session=abc; berth_sessionx=def', 'berth_session')).toBeNull();
    expect(readCookie('berth_session="quoted"', 'berth_session')).toBeNull();
    expect(readCookie('berth_session=', 'berth_session')).toBeNull();
    expect(readCookie('berth_session=' + 'a'.repeat(513), 'berth_session')).toBeNull();
  });
});

describe('CSRF', () => {
  it('accepts exactly the session’s own value', () => {
    fc.assert(
      fc.property(token, (t) => {
        expect(csrfMatches(t, csrfFor(t))).toBe(true);
        expect(csrfMatches(t, [csrfFor(t)])).toBe(false); // a repeated header is refused
        expect(csrfMatches(t, undefined)).toBe(false);
        expect(csrfMatches(t, '')).toBe(false);
      }),
    );
  });

  it('never accepts another value: no bypass by guessing, by another session’s value, or by the token itself', () => {
    fc.assert(
      fc.property(token, token, headerValue, (t, other, guess) => {
        fc.pre(t !== other);
        expect(csrfMatches(t, csrfFor(other))).toBe(false);
        expect(csrfMatches(t, t)).toBe(false);
        if (guess !== csrfFor(t)) expect(csrfMatches(t, guess as string | string[] | undefined)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('is needed for every method but the safe ones', () => {
    for (const m of ['GET', 'HEAD', 'OPTIONS', 'get']) expect(needsCsrf(m)).toBe(false);
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE', 'post', 'PROPFIND']) expect(needsCsrf(m)).toBe(true);
  });
});

describe('originMatchesHost', () => {
  it('never throws; a present Origin must name the same host and port', () => {
    fc.assert(
      fc.property(headerValue, headerValue, (o, h) => void originMatchesHost(o as string | undefined, h as string | undefined)),
      { numRuns: 2000 },
    );
    expect(originMatchesHost('http://127.0.0.1:8080', '127.0.0.1:8080')).toBe(true);
    expect(originMatchesHost(undefined, '127.0.0.1:8080')).toBe(true);
    expect(originMatchesHost('http://127.0.0.1:8081', '127.0.0.1:8080')).toBe(false);
    expect(originMatchesHost('http://evil.example', '127.0.0.1:8080')).toBe(false);
    expect(originMatchesHost('null', '127.0.0.1:8080')).toBe(false);
  });
});
