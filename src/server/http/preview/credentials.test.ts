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
    const value = c.cookie(grant);
    expect(value).not.toContain('u1');
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
