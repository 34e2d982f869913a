import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_PREVIEW_URL, parsePreviewHost, parsePreviewPath, previewHostLabel, previewPrefix } from './previews.js';
import { NAME_PATTERN } from './values.js';

const nameArb = fc.stringMatching(NAME_PATTERN);
const portArb = fc.integer({ min: 1, max: 65535 });
/** Hostile text: URL-ish characters, encodings, dots, slashes, unicode, overlong. */
const hostileArb = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: fc.constantFrom('/', '.', '%', '2', 'f', 'F', 'w', 'p', '-', '?', '#', '8', '0', 'a', ':', '\\', '\0', 'é'), maxLength: 60 }),
  fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([a, b]) => `/w/${a}/p/${b}`),
);

describe('parsePreviewPath', () => {
  it('reads back what previewPrefix wrote, with the rest untouched', () => {
    fc.assert(
      fc.property(
        nameArb,
        portArb,
        fc.string({ maxLength: 100 }).filter((s) => !s.includes('#')),
        (name, port, tail) => {
          const parsed = parsePreviewPath(`${previewPrefix(name, port)}/${tail}`);
          expect(parsed).toEqual({ name, owner: null, segment: name, port, rest: `/${tail}`, bare: false });
        },
      ),
    );
  });

  it('never throws on hostile input, and accepts only a strict name and port', () => {
    fc.assert(
      fc.property(hostileArb, (url) => {
        const parsed = parsePreviewPath(url);
        if (parsed === null) return;
        expect(NAME_PATTERN.test(parsed.name)).toBe(true);
        expect(parsed.port).toBeGreaterThanOrEqual(1);
        expect(parsed.port).toBeLessThanOrEqual(65535);
        expect(url.startsWith(previewPrefix(parsed.name, parsed.port))).toBe(true);
        expect(parsed.rest.startsWith('/')).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses dot segments, encoded slashes, leading zeros, out-of-range ports, odd case and overlong targets', () => {
    for (const url of [
      '/w/../p/80/',
      '/w/./p/80/',
      '/w/a%2Fb/p/80/',
      '/w/a/p/80%2F/',
      '/w/a/p/%38%30/',
      '/w/a/p/080/',
      '/w/a/p/0/',
      '/w/a/p/65536/',
      '/w/a/p/-1/',
      '/w/A/p/80/',
      '/W/a/p/80/',
      '/w/a/P/80/',
      '/w//p/80/',
      '/w/a/p//',
      '/w/-a/p/80/',
      `/w/${'a'.repeat(64)}/p/80/`,
      `/w/a/p/80/${'x'.repeat(MAX_PREVIEW_URL)}`,
      '/w/a/p/80#frag',
      '/w/a.b.c/p/80/',
      '/w/.a/p/80/',
      '/w/a./p/80/',
      '/w/a..b/p/80/',
      '/w/a~b/p/80/',
    ]) {
      expect(parsePreviewPath(url), url).toBeNull();
    }
  });

  it("reads another owner's workspace as /w/OWNER.NAME/, back from what previewPrefix wrote", () => {
    fc.assert(
      fc.property(nameArb, nameArb, portArb, (owner, name, port) => {
        expect(parsePreviewPath(`${previewPrefix(`${owner}.${name}`, port)}/x`)).toEqual({
          name,
          owner,
          segment: `${owner}.${name}`,
          port,
          rest: '/x',
          bare: false,
        });
      }),
    );
  });

  it('marks a prefix without its slash, keeping the query', () => {
    const a = { name: 'a', owner: null, segment: 'a', port: 80 };
    expect(parsePreviewPath('/w/a/p/80')).toEqual({ ...a, rest: '/', bare: true });
    expect(parsePreviewPath('/w/a/p/80?x=1')).toEqual({ ...a, rest: '/?x=1', bare: true });
    // What follows the prefix is the service's business, dots and encodings included.
    expect(parsePreviewPath('/w/a/p/80/../%2e%2e/x')).toEqual({ ...a, rest: '/../%2e%2e/x', bare: false });
  });
});

describe('parsePreviewHost', () => {
  const base = 'preview.example.com';

  it('reads back every label previewHostLabel makes, in any case and with a port', () => {
    fc.assert(
      fc.property(portArb, nameArb, nameArb, fc.boolean(), fc.option(portArb), (port, name, user, upper, hostPort) => {
        const label = previewHostLabel(port, name, user);
        if (label === null) {
          expect(name.includes('--') || user.includes('--') || `${port}--${name}--${user}`.length > 63).toBe(true);
          return;
        }
        let host = `${label}.${base}${hostPort ? `:${hostPort}` : ''}`;
        if (upper) host = host.toUpperCase();
        expect(parsePreviewHost(host, base)).toEqual({ port, name, user });
      }),
    );
  });

  it('never throws, and what it accepts is exactly one label under the base that re-forms the same', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          hostileArb,
          hostileArb.map((h) => `${h}.${base}`),
        ),
        (host) => {
          const t = parsePreviewHost(host, base);
          if (t === null) return;
          expect(previewHostLabel(t.port, t.name, t.user) + '.' + base).toBe(host.toLowerCase().replace(/:\d{1,5}$/, ''));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses other domains, extra labels, extra parts, bad ports and names', () => {
    for (const host of [
      `80--a--b.other.com`,
      `80--a--b.${base}.evil.com`,
      `x.80--a--b.${base}`,
      `80--a--b--c.${base}`,
      `80--a.${base}`,
      `080--a--b.${base}`,
      `0--a--b.${base}`,
      `70000--a--b.${base}`,
      `80--a_--b.${base}`,
      `80----b.${base}`,
      base,
      `.${base}`,
      `80--a--b.${base}:x`,
    ]) {
      expect(parsePreviewHost(host, base), host).toBeNull();
    }
  });
});
