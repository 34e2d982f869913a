import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NAME_PATTERN } from './values.js';
import { formatWorkspaceRef, MAX_WORKSPACE_REF, parseSshUser, parseWorkspaceRef, sshUserFor, workspaceRefFor, workspaceRefSchema } from './workspace-ref.js';

const nameArb = fc.stringMatching(NAME_PATTERN);
const refArb = fc.record({ owner: fc.option(nameArb, { nil: null }), name: nameArb });
/** Path and shell metacharacters no reference may carry. */
const META = ['..', '\\', '\0', ' ', '\t', '\n', ';', '&', '|', '$', '`', "'", '"', '<', '>', '(', ')', '{', '}', '*', '?', '~', '#', '%', ':', '@', '!', '='];
const hostileArb = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: fc.constantFrom('/', '.', 'a', '-', '0', '\\', '\0', ' ', ';', '$', '`', '%', '2', 'F', 'é', 'A', '~'), maxLength: 40 }),
  fc.tuple(nameArb, fc.constantFrom(...META), nameArb).map(([a, m, b]) => `${a}${m}${b}`),
);

describe('parseWorkspaceRef', () => {
  it('reads back what formatWorkspaceRef wrote', () => {
    fc.assert(
      fc.property(refArb, (ref) => {
        expect(parseWorkspaceRef(formatWorkspaceRef(ref))).toEqual(ref);
      }),
    );
  });

  it('formats back exactly the text it accepted', () => {
    fc.assert(
      fc.property(hostileArb, (text) => {
        const ref = parseWorkspaceRef(text);
        if (ref !== null) expect(formatWorkspaceRef(ref)).toBe(text);
      }),
    );
  });

  it('never accepts path or shell metacharacters, and never throws', () => {
    fc.assert(
      fc.property(hostileArb, (text) => {
        const ref = parseWorkspaceRef(text);
        if (ref === null) return;
        for (const m of META) expect(text.includes(m)).toBe(false);
        expect(NAME_PATTERN.test(ref.name)).toBe(true);
        if (ref.owner !== null) expect(NAME_PATTERN.test(ref.owner)).toBe(true);
      }),
    );
  });

  it('rejects three parts, empty parts, leading and trailing slashes, and overlong text', () => {
    for (const bad of [
      'a/b/c',
      '/a',
      'a/',
      '/',
      '',
      'a//b',
      '//',
      'A/b',
      'a/B',
      '-a/b',
      'a/b-',
      '../a',
      'a/..',
      'x'.repeat(64),
      `${'a'.repeat(63)}/${'b'.repeat(64)}`,
    ]) {
      expect(parseWorkspaceRef(bad), bad).toBeNull();
    }
    fc.assert(
      fc.property(nameArb, nameArb, nameArb, (a, b, c) => {
        expect(parseWorkspaceRef(`${a}/${b}/${c}`)).toBeNull();
      }),
    );
    fc.assert(
      fc.property(fc.string({ minLength: MAX_WORKSPACE_REF + 1, maxLength: 300 }), (s) => {
        expect(parseWorkspaceRef(s)).toBeNull();
      }),
    );
  });

  it('agrees with the zod schema used at the edge', () => {
    fc.assert(
      fc.property(hostileArb, (text) => {
        expect(workspaceRefSchema.safeParse(text).success).toBe(parseWorkspaceRef(text) !== null);
      }),
    );
    expect(workspaceRefSchema.safeParse('alice/api').success).toBe(true);
    expect(workspaceRefSchema.safeParse('alice/api/x').success).toBe(false);
  });
});

describe('parseSshUser', () => {
  it('reads back the SSH user berth prints, for the owner and for anyone else', () => {
    fc.assert(
      fc.property(nameArb, nameArb, nameArb, (owner, name, viewer) => {
        const user = sshUserFor({ owner, name }, viewer);
        expect(parseSshUser(user)).toEqual({ owner: owner === viewer ? null : owner, name });
        // The printed form never holds a character scp reads as a path or a host separator.
        expect(/[/:@]/.test(user)).toBe(false);
      }),
    );
  });

  it('takes OWNER/NAME too, and nothing with metacharacters or a third part', () => {
    expect(parseSshUser('alice/api')).toEqual({ owner: 'alice', name: 'api' });
    expect(parseSshUser('alice.api')).toEqual({ owner: 'alice', name: 'api' });
    for (const bad of ['a.b.c', 'a/b.c', 'a.b/c', '.a', 'a.', 'a..b', '', 'a b']) expect(parseSshUser(bad), bad).toBeNull();
    fc.assert(
      fc.property(hostileArb, (text) => {
        const ref = parseSshUser(text);
        if (ref === null) return;
        for (const m of META) expect(text.includes(m)).toBe(false);
      }),
    );
  });
});

describe('workspaceRefFor', () => {
  it('is the bare name for the owner and OWNER/NAME for anyone else', () => {
    expect(workspaceRefFor({ owner: 'alice', name: 'api' }, 'alice')).toBe('api');
    expect(workspaceRefFor({ owner: 'alice', name: 'api' }, 'admin')).toBe('alice/api');
    fc.assert(
      fc.property(nameArb, nameArb, nameArb, (owner, name, viewer) => {
        expect(parseWorkspaceRef(workspaceRefFor({ owner, name }, viewer))).toEqual({ owner: owner === viewer ? null : owner, name });
      }),
    );
  });
});

describe('WORKSPACE_REF_PATTERN', () => {
  it('agrees with parseWorkspaceRef (the OpenAPI document states the same grammar)', async () => {
    const { WORKSPACE_REF_PATTERN } = await import('./workspace-ref.js');
    const re = new RegExp(WORKSPACE_REF_PATTERN);
    fc.assert(
      fc.property(fc.oneof(hostileArb, refArb.map(formatWorkspaceRef)), (text) => {
        expect(re.test(text)).toBe(parseWorkspaceRef(text) !== null);
      }),
    );
  });
});
