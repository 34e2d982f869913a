import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ForwardContext, headersToClient, headersToService, requestHead, rewriteLocation, withoutPreviewCookie } from './headers.js';

const ctx: ForwardContext = {
  port: 3000,
  prefix: '/w/app/p/3000',
  proto: 'https',
  host: 'berth.example.com',
  clientIp: '10.0.0.9',
  dropAuthorization: true,
  upgrade: false,
};
const tokenArb = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}$/);
const valueArb = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);

describe('headersToService', () => {
  it('never passes on the preview cookie, berth authorization, hop-by-hop or client forwarding headers', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.oneof(
              tokenArb,
              fc.constantFrom('Cookie', 'Authorization', 'Connection', 'Transfer-Encoding', 'X-Forwarded-For', 'Host', 'Upgrade', 'Keep-Alive', 'Forwarded'),
            ),
            valueArb,
          ),
          { maxLength: 20 },
        ),
        (pairs) => {
          const raw = pairs.flat();
          const out = headersToService(raw, ctx);
          expect(out.authorization).toBeUndefined();
          expect(String(out.cookie ?? '')).not.toMatch(/(^|;\s*)berth_preview=/);
          for (const h of ['connection', 'transfer-encoding', 'upgrade', 'keep-alive', 'forwarded']) expect(out[h]).toBeUndefined();
          expect(out.host).toBe('localhost:3000');
          expect(out['x-forwarded-for']).toBe('10.0.0.9');
          expect(out['x-forwarded-prefix']).toBe('/w/app/p/3000');
          // Headers named in Connection are hop-by-hop too.
          for (let i = 0; i < raw.length; i += 2) {
            if (raw[i].toLowerCase() !== 'connection') continue;
            for (const t of raw[i + 1]
              .split(',')
              .map((x) => x.trim().toLowerCase())
              .filter(Boolean)) {
              if (!['host', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-prefix'].includes(t)) expect(out[t], t).toBeUndefined();
            }
          }
        },
      ),
    );
  });

  it("keeps the rest, the service's own Authorization when berth did not use it, and Upgrade for a switch", () => {
    const raw = [
      'Accept',
      'text/html',
      'Cookie',
      'a=1; berth_preview=v1.x.y; b=2',
      'Authorization',
      'Basic Zm9v',
      'Upgrade',
      'websocket',
      'Connection',
      'Upgrade',
      'X-Custom',
      '1',
      'X-Custom',
      '2',
    ];
    const out = headersToService(raw, { ...ctx, dropAuthorization: false, upgrade: true });
    expect(out).toMatchObject({
      accept: 'text/html',
      cookie: 'a=1; b=2',
      authorization: 'Basic Zm9v',
      upgrade: 'websocket',
      connection: 'Upgrade',
      'x-custom': ['1', '2'],
    });
    expect(requestHead('GET', '/ws', out)).toMatch(/^GET \/ws HTTP\/1\.1\r\n(.+\r\n)+\r\n$/);
  });
});

describe('withoutPreviewCookie', () => {
  it('removes only berth_preview and the web session (a service never sees the viewer’s session)', () => {
    expect(withoutPreviewCookie('berth_preview=1')).toBe('');
    expect(withoutPreviewCookie('x=1;berth_preview=2; berth_preview_other=3')).toBe('x=1; berth_preview_other=3');
    expect(withoutPreviewCookie('berth_session=bsess_a; app=1; berth_preview=v1.x')).toBe('app=1');
    expect(withoutPreviewCookie('berth_sessionx=1; xberth_session=2')).toBe('berth_sessionx=1; xberth_session=2');
  });

  it('keeps berth’s cookies out of the service’s headers whatever else the Cookie header holds', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z_]{1,12}=[^;]{0,10}$/), { maxLength: 5 }), fc.nat(5), (others, at) => {
        const parts = [...others];
        parts.splice(Math.min(at, parts.length), 0, 'berth_session=bsess_secret', 'berth_preview=v1.p');
        const out = headersToService(['Cookie', parts.join('; ')], ctx);
        expect(String(out.cookie ?? '')).not.toMatch(/(^|; )berth_(session|preview)=/);
      }),
    );
  });
});

describe('headersToClient and rewriteLocation', () => {
  it('moves redirects to the service root under the prefix and leaves others alone', () => {
    expect(rewriteLocation('/login?next=/', ctx)).toBe('/w/app/p/3000/login?next=/');
    expect(rewriteLocation('/w/app/p/3000/already', ctx)).toBe('/w/app/p/3000/already');
    expect(rewriteLocation('http://localhost:3000/a#b', ctx)).toBe('/w/app/p/3000/a#b');
    expect(rewriteLocation('https://berth.example.com/x', ctx)).toBe('/w/app/p/3000/x');
    expect(rewriteLocation('http://127.0.0.1:3000/', ctx)).toBe('/w/app/p/3000/');
    expect(rewriteLocation('https://elsewhere.example/x', ctx)).toBe('https://elsewhere.example/x');
    expect(rewriteLocation('//elsewhere.example/x', ctx)).toBe('//elsewhere.example/x');
    expect(rewriteLocation('relative/path', ctx)).toBe('relative/path');
    expect(rewriteLocation('javascript:alert(1)', ctx)).toBe('javascript:alert(1)');
    expect(rewriteLocation('http://localhost:3000/x', { ...ctx, prefix: '' })).toBe('/x');
  });

  it('drops Service-Worker-Allowed in path mode, so a preview’s service worker stays under its prefix', () => {
    const raw = ['Service-Worker-Allowed', '/', 'Content-Type', 'text/javascript'];
    expect(headersToClient(raw, ctx)).toEqual(['Content-Type', 'text/javascript']);
    expect(headersToClient(raw, { ...ctx, prefix: '' })).toEqual(raw);
  });

  it('keeps a preview from setting berth cookies, and in path mode an opener policy or Clear-Site-Data', () => {
    const raw = [
      'Set-Cookie',
      'berth_session=theirs; Path=/',
      'Set-Cookie',
      ' berth_preview=x; Path=/w/',
      'Set-Cookie',
      'app=1; Path=/',
      'Cross-Origin-Opener-Policy',
      'same-origin',
      'Clear-Site-Data',
      '"cookies"',
    ];
    expect(headersToClient(raw, ctx)).toEqual(['Set-Cookie', 'app=1; Path=/']);
    // On its own origin (subdomain mode) a preview keeps its other headers, never berth's cookies.
    expect(headersToClient(raw, { ...ctx, prefix: '' })).toEqual(raw.slice(4));
  });

  it('drops hop-by-hop headers from the answer', () => {
    const out = headersToClient(
      ['Content-Type', 'text/plain', 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'Transfer-Encoding', 'chunked', 'Location', '/a', 'Set-Cookie', 'a=1'],
      ctx,
    );
    expect(out).toEqual(['Content-Type', 'text/plain', 'Location', '/w/app/p/3000/a', 'Set-Cookie', 'a=1']);
  });

  it('never throws on hostile Location values', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (v) => void rewriteLocation(v, ctx)));
  });
});
