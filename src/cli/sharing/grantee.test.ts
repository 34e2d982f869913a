import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BerthError, sharesPostSchema } from '../../api/index.js';
import { parseExpires, parseUserGrant, shareBody } from './grantee.js';

describe('parseUserGrant', () => {
  it('reads NAME and NAME:ROLE', () => {
    expect(parseUserGrant('bob')).toEqual({ user: 'bob', role: 'use' });
    expect(parseUserGrant('bob:admin')).toEqual({ user: 'bob', role: 'admin' });
    expect(parseUserGrant('bob:use')).toEqual({ user: 'bob', role: 'use' });
  });
  it('refuses other roles and names, naming the flag', () => {
    expect(() => parseUserGrant('bob:owner')).toThrow(/Unknown share role "owner"/);
    expect(() => parseUserGrant('Bob')).toThrow(/not a user name/);
    expect(() => parseUserGrant('bob:')).toThrow(/Unknown share role/);
  });
  it('either answers a body the API accepts or throws INVALID_ARGUMENT, for any text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[a-z0-9:-]{0,20}$/)), (text) => {
        try {
          const g = parseUserGrant(text);
          expect(sharesPostSchema.safeParse(g).success).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(BerthError);
          expect((err as BerthError).code).toBe('INVALID_ARGUMENT');
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('shareBody', () => {
  it('needs exactly one grantee and reads --expires', () => {
    expect(shareBody({ user: 'bob:admin', expires: '2h' })).toEqual({ user: 'bob', role: 'admin', ttlSeconds: 7200 });
    expect(shareBody({ team: 'web', role: 'admin' })).toEqual({ team: 'web', role: 'admin' });
    expect(() => shareBody({})).toThrow(/one grantee/);
    expect(() => shareBody({ user: 'bob', team: 'web' })).toThrow(/one grantee/);
  });
  it('bounds --expires', () => {
    expect(parseExpires('45s')).toBe(45);
    expect(() => parseExpires('0s')).toThrow(/Invalid --expires/);
    expect(() => parseExpires('400d')).toThrow(/Invalid --expires/);
    expect(() => parseExpires('soon')).toThrow(/Invalid --expires/);
  });
});
