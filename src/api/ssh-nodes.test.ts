import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BerthError } from './errors.js';
import { formatSshTarget, nodesSshPostSchema, parseNodeLabel, parseSshTarget } from './ssh-nodes.js';

describe('parseSshTarget', () => {
  it('reads user, host and port, with 22 by default', () => {
    expect(parseSshTarget('ssh://root@10.0.0.5')).toEqual({ user: 'root', host: '10.0.0.5', port: 22 });
    expect(parseSshTarget('ssh://deploy@build-1.example.org:2201')).toEqual({ user: 'deploy', host: 'build-1.example.org', port: 2201 });
    expect(parseSshTarget('ssh://root@[fd00::5]:22')).toEqual({ user: 'root', host: 'fd00::5', port: 22 });
  });

  it.each([
    ['root@host', 'no scheme'],
    ['ssh://host', 'no user'],
    ['ssh://root@host:0', 'port 0'],
    ['ssh://root@host:70000', 'port too big'],
    ['ssh://root@fd00::5', 'IPv6 without brackets'],
    ['ssh://root@[host]', 'brackets around a name'],
    ['ssh://ro ot@host', 'space in user'],
    ['ssh://root@ho;st', 'shell character in host'],
    ['ssh://root@host/path', 'a path'],
    ['ssh://root@..', 'dots only'],
    ['ssh://-oProxyCommand=x@host', 'an option as user'],
  ])('refuses %s (%s) with INVALID_ARGUMENT on field target', (text) => {
    expect(() => parseSshTarget(text)).toThrow(BerthError);
    try {
      parseSshTarget(text);
    } catch (err) {
      expect((err as BerthError).code).toBe('INVALID_ARGUMENT');
      expect((err as BerthError).field).toBe('target');
    }
  });

  it('refuses a user name ending in $ (a shell would read `$@` in ssh://A$@host)', () => {
    expect(() => parseSshTarget('ssh://A$@0')).toThrow(/is not a valid user name/);
  });

  it('never throws anything but INVALID_ARGUMENT, and what it accepts formats back to itself', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `ssh://${s}`),
          fc.string().map((s) => `ssh://root@${s}`),
        ),
        (text) => {
          let t: ReturnType<typeof parseSshTarget>;
          try {
            t = parseSshTarget(text);
          } catch (err) {
            expect(err).toBeInstanceOf(BerthError);
            expect((err as BerthError).code).toBe('INVALID_ARGUMENT');
            return;
          }
          expect(parseSshTarget(formatSshTarget(t))).toEqual(t);
          // Nothing a shell or ssh would read as more than a word gets through.
          expect(`${t.user}${t.host}`).not.toMatch(/[\s;'"`$|&<>\\]/);
          expect(t.user.startsWith('-')).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('round-trips every well-formed target', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z_][a-z0-9_-]{0,15}$/),
        fc.array(label, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 65535 }),
        (user, labels, port) => {
          const t = { user, host: labels.join('.'), port };
          expect(parseSshTarget(formatSshTarget(t))).toEqual(t);
        },
      ),
    );
  });
});

describe('parseNodeLabel', () => {
  it('splits at the first =', () => {
    expect(parseNodeLabel('zone=eu-1')).toEqual(['zone', 'eu-1']);
    expect(parseNodeLabel('gpu=')).toEqual(['gpu', '']);
  });

  it('refuses labels without = or with characters outside the rules', () => {
    for (const bad of ['zone', '=x', 'zone=a b', 'zone=a=b', `${'k'.repeat(64)}=v`]) {
      expect(() => parseNodeLabel(bad), bad).toThrow(BerthError);
    }
  });
});

describe('nodesSshPostSchema', () => {
  const ok = { user: 'root', host: '10.0.0.5', privateKey: 'KEY', serverUrl: 'http://10.0.0.1:7080' };

  it('takes a minimal body and fills the port and labels', () => {
    expect(nodesSshPostSchema.parse(ok)).toMatchObject({ port: 22, labels: {} });
  });

  it('bounds the key, the fingerprint, the URL and unknown keys', () => {
    expect(nodesSshPostSchema.safeParse({ ...ok, privateKey: 'x'.repeat(16 * 1024 + 1) }).success).toBe(false);
    expect(nodesSshPostSchema.safeParse({ ...ok, hostKeyFingerprint: 'MD5:aa' }).success).toBe(false);
    expect(nodesSshPostSchema.safeParse({ ...ok, serverUrl: 'http://x/ path' }).success).toBe(false);
    expect(nodesSshPostSchema.safeParse({ ...ok, password: 'x' }).success).toBe(false);
    expect(nodesSshPostSchema.safeParse({ ...ok, host: 'a;b' }).success).toBe(false);
  });
});
