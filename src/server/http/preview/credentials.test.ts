import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COOKIE_TTL_MS, loadPreviewKey, ONE_TIME_TTL_MS, PreviewCredentials } from './credentials.js';

const grant = { userId: 'u1', workspaceId: 'w1', tokenId: 't1' };

describe('one-time tokens', () => {
  it('are good once, and not after a minute', () => {
    let now = 1_000_000;
    const c = new PreviewCredentials(randomBytes(32), () => now);
    const a = c.mintOneTime(grant);
    expect(a.token).toMatch(/^bprev_/);
    expect(c.redeem(a.token)).toEqual(grant);
    expect(c.redeem(a.token)).toBeNull();
    const b = c.mintOneTime(grant);
    now += ONE_TIME_TTL_MS;
    expect(c.redeem(b.token)).toBeNull();
    expect(c.redeem('bprev_unknown')).toBeNull();
    expect(c.redeem('berth_api_token')).toBeNull();
  });
});

describe('cookies', () => {
  it('carry their grant until they expire, and only with this key', () => {
    let now = 1_000_000;
    const key = randomBytes(32);
    const c = new PreviewCredentials(key, () => now);
    // Ids long enough that finding one in the sealed value by chance is out of the question
    // ('u1' turned up in the random bytes about once in forty runs).
    const secretGrant = { userId: 'user-3f9a1c7e5b2d', workspaceId: 'w1', tokenId: 't1' };
    expect(c.cookie(secretGrant)).not.toContain('user-3f9a1c7e5b2d');
    const value = c.cookie(grant);
    expect(c.verifyCookie(value)).toEqual(grant);
    expect(new PreviewCredentials(randomBytes(32), () => now).verifyCookie(value)).toBeNull();
    expect(new PreviewCredentials(key, () => now).verifyCookie(value)).toEqual(grant);
    now += COOKIE_TTL_MS;
    expect(c.verifyCookie(value)).toBeNull();
  });

  it('refuse any change and any hostile value without throwing', () => {
    const c = new PreviewCredentials(randomBytes(32));
    const value = c.cookie(grant);
    fc.assert(
      fc.property(fc.nat({ max: value.length - 1 }), fc.string({ minLength: 1, maxLength: 1 }), (i, ch) => {
        fc.pre(value[i] !== ch);
        expect(c.verifyCookie(value.slice(0, i) + ch + value.slice(i + 1))).toBeNull();
      }),
    );
    fc.assert(fc.property(fc.string({ maxLength: 2000 }), (v) => void expect(c.verifyCookie(v)).toBeNull()));
  });
});

describe('web UI previews: grants bound to a browser session', () => {
  const sessionGrant = { userId: 'u1', workspaceId: 'w1', sessionId: 's1' };

  it('carry the session through the one-time token and the cookie, and never an API token beside it', () => {
    const c = new PreviewCredentials(randomBytes(32));
    const { token } = c.mintOneTime(sessionGrant);
    expect(c.redeem(token)).toEqual(sessionGrant);
    expect(c.verifyCookie(c.cookie(sessionGrant))).toEqual(sessionGrant);
    // A token grant stays one (old cookies keep working), and neither becomes the other.
    expect(c.verifyCookie(c.cookie(grant))).toEqual(grant);
  });

  it('refuse a grant naming both credentials or neither, even when signed', () => {
    const c = new PreviewCredentials(randomBytes(32));
    const both = { userId: 'u1', workspaceId: 'w1', tokenId: 't1', sessionId: 's1' };
    const neither = { userId: 'u1', workspaceId: 'w1' };
    expect(() => c.mintOneTime(both)).toThrow();
    expect(() => c.mintOneTime(neither)).toThrow();
    expect(c.verifyCookie(c.cookie(both))).toBeNull();
    expect(c.verifyCookie(c.cookie(neither))).toBeNull();
  });

  it('verify exactly the grants they were made from (fast-check)', () => {
    const c = new PreviewCredentials(randomBytes(32));
    const id = fc.string({ minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(id, id, id, fc.boolean(), (u, w, cred, viaSession) => {
        const g = viaSession ? { userId: u, workspaceId: w, sessionId: cred } : { userId: u, workspaceId: w, tokenId: cred };
        expect(c.verifyCookie(c.cookie(g))).toEqual(g);
      }),
    );
  });
});

describe('the signing key', () => {
  it('is made once in the data dir, readable only by its owner, and kept', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-preview-key-'));
    try {
      const a = await loadPreviewKey(dir);
      expect(a.length).toBe(32);
      expect((await stat(join(dir, 'preview-key'))).mode & 0o777).toBe(0o600);
      expect(await loadPreviewKey(dir)).toEqual(a);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
