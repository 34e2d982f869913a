import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { imageRefSchema, isValidImage, MAX_IMAGE_REF_LENGTH, parseImageReference } from './image-ref.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('parseImageReference', () => {
  it('reads the parts of well-formed references', () => {
    expect(parseImageReference('busybox')).toEqual({ path: 'busybox' });
    expect(parseImageReference('debian:bookworm')).toEqual({ path: 'debian', tag: 'bookworm' });
    expect(parseImageReference('berth/base:latest')).toEqual({ path: 'berth/base', tag: 'latest' });
    expect(parseImageReference('team/sub/dev')).toEqual({ path: 'team/sub/dev' });
    expect(parseImageReference('registry.example:5000/team/dev:1.2')).toEqual({ domain: 'registry.example:5000', path: 'team/dev', tag: '1.2' });
    expect(parseImageReference('localhost/dev')).toEqual({ domain: 'localhost', path: 'dev' });
    expect(parseImageReference('localhost:5000/dev')).toEqual({ domain: 'localhost:5000', path: 'dev' });
    expect(parseImageReference('[::1]:5000/dev:x')).toEqual({ domain: '[::1]:5000', path: 'dev', tag: 'x' });
    expect(parseImageReference('127.0.0.1:5000/a_b/c__d/e-f--g.h')).toEqual({ domain: '127.0.0.1:5000', path: 'a_b/c__d/e-f--g.h' });
    expect(parseImageReference(`debian@${DIGEST}`)).toEqual({ path: 'debian', digest: DIGEST });
    expect(parseImageReference(`debian:12@${DIGEST}`)).toEqual({ path: 'debian', tag: '12', digest: DIGEST });
    expect(parseImageReference('dev:V1_2.3-rc')).toEqual({ path: 'dev', tag: 'V1_2.3-rc' });
  });

  it('refuses hostile and malformed strings', () => {
    const bad = [
      '',
      '../../../etc/passwd',
      'x/../../y',
      '../x',
      './x',
      'x/./y',
      '/x',
      'x/',
      'x//y',
      '//evil/x',
      'http://evil/',
      'https://evil/x',
      'a\0b',
      'base\0',
      'x\ny',
      'x\ry',
      '%2e%2e/%2e%2e/etc/passwd',
      '%2e%2e',
      'x%2Fy',
      'x?y',
      'x:latest?foo=bar',
      'x#y',
      'x:tag#frag',
      'x y',
      ' x',
      'x ',
      'x\ty',
      'Ubuntu',
      'library/Ubuntu',
      'team/Dev:1',
      'débian',
      'x:tå',
      '😀',
      'x:',
      'x@',
      'x@sha256:abc',
      ':tag',
      '@' + DIGEST,
      'x:-tag',
      `x:${'t'.repeat(129)}`,
      'x_',
      '-x',
      'x-',
      'x..y',
      'x___y',
      'a:b:c',
      'host:port/x',
      'x\\y',
      'x;rm -rf /',
      '$(id)',
      '`id`',
    ];
    for (const s of bad) expect(parseImageReference(s), JSON.stringify(s)).toBeNull();
  });

  it('caps the repository name at 255 characters and the whole reference at 512', () => {
    const name255 = `a/${'b'.repeat(253)}`;
    expect(parseImageReference(name255)).not.toBeNull();
    expect(parseImageReference(`${name255}b`)).toBeNull();
    expect(parseImageReference('a'.repeat(2000))).toBeNull();
    expect(parseImageReference('a'.repeat(5000))).toBeNull();
    expect(parseImageReference(`${name255}:${'t'.repeat(128)}@${DIGEST}`)).toMatchObject({ tag: 't'.repeat(128), digest: DIGEST });
  });

  it('never accepts a string with characters outside the grammar (property)', () => {
    const outside = fc.constantFrom('\0', ' ', '?', '#', '%', '\\', '\n', '"', "'", '&', ';', '*', '..', '//', 'É', 'ü', '\u202e');
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), outside, fc.string({ maxLength: 20 }), (a, bad, b) => {
        expect(parseImageReference(`${a}${bad}${b}`)).toBeNull();
      }),
    );
  });

  it('accepts every reference built from the grammar (property)', () => {
    const alnum = fc.stringMatching(/^[a-z0-9]{1,6}$/);
    const component = fc
      .tuple(alnum, fc.array(fc.tuple(fc.constantFrom('.', '_', '__', '-', '---'), alnum), { maxLength: 3 }))
      .map(([h, rest]) => h + rest.map(([s, a]) => s + a).join(''));
    const path = fc.array(component, { minLength: 1, maxLength: 4 }).map((cs) => cs.join('/'));
    const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
    fc.assert(
      fc.property(fc.option(fc.constantFrom('registry.example', 'localhost:5000', '10.0.0.1:443')), path, fc.option(tag), (domain, p, t) => {
        const ref = `${domain ? `${domain}/` : ''}${p}${t ? `:${t}` : ''}`;
        fc.pre(ref.length <= 255);
        expect(parseImageReference(ref), ref).not.toBeNull();
      }),
    );
  });
});

describe('imageRefSchema', () => {
  it('accepts berth image names and engine references', () => {
    for (const ok of ['base', 'dev-1', 'debian:bookworm', 'nosuch:latest', 'berth/base:latest']) expect(imageRefSchema.safeParse(ok).success, ok).toBe(true);
  });

  it('refuses everything else with a sentence that names the rule', () => {
    for (const bad of ['../../../etc/passwd', 'x/../../y', 'http://evil/', 'a\0b', 'x'.repeat(5000), 'x?y', 'x#y', 'a b', 'Ubuntu']) {
      const r = imageRefSchema.safeParse(bad);
      expect(r.success, JSON.stringify(bad.slice(0, 40))).toBe(false);
      expect(r.error!.issues[0].message).toMatch(/berth image name|at most/);
    }
    expect(isValidImage('x'.repeat(MAX_IMAGE_REF_LENGTH + 1))).toBe(false);
  });
});
