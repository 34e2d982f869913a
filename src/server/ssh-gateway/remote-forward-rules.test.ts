/** ssh -R request rules: bind addresses, ports, duplicates and cancels, with hostile input fuzzed. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitPeer } from './relay-client.js';
import { admitForward, findForCancel, type HeldForward, listenAddressFor, MAX_REMOTE_FORWARDS, parseForwardRequest } from './remote-forward-rules.js';

describe('tcpip-forward bind addresses', () => {
  it('binds loopback for empty, *, localhost and 127.0.0.1, as sshd does by default', () => {
    for (const a of ['', '*', 'localhost', 'LOCALHOST', '127.0.0.1']) expect(listenAddressFor(a)).toBe('127.0.0.1');
    for (const a of ['::1', 'ip6-localhost']) expect(listenAddressFor(a)).toBe('::1');
  });

  it('binds an explicit IP address as given, and refuses host names', () => {
    expect(listenAddressFor('0.0.0.0')).toBe('0.0.0.0');
    expect(listenAddressFor('::')).toBe('::');
    expect(listenAddressFor('10.1.2.3')).toBe('10.1.2.3');
    for (const a of ['example.com', '-p', '127.0.0.1 ', '1.2.3.4:5', '../x']) expect(listenAddressFor(a)).toBeNull();
  });

  it('takes ports 0 to 65535 and refuses everything else', () => {
    expect(parseForwardRequest({ bindAddr: 'localhost', bindPort: 0 })).toEqual({ bindAddr: 'localhost', listenAddr: '127.0.0.1', port: 0 });
    expect(parseForwardRequest({ bindAddr: '', bindPort: 65535 })).toMatchObject({ port: 65535 });
    for (const bindPort of [-1, 65536, 1.5, Number.NaN, '80', null, 2 ** 32]) expect(parseForwardRequest({ bindAddr: '', bindPort })).toHaveProperty('refused');
    for (const info of [null, undefined, 'x', 7, {}, { bindAddr: 5, bindPort: 1 }, { bindAddr: 'a'.repeat(300), bindPort: 1 }])
      expect(parseForwardRequest(info)).toHaveProperty('refused');
  });

  it('never throws and only ever yields a valid listen address and port (fuzzed)', () => {
    const anyAddr = fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom('', '*', 'localhost', '::1', '0.0.0.0', '::', '127.0.0.1'), fc.ipV4(), fc.ipV6());
    const anyPort = fc.oneof(fc.integer({ min: -10, max: 70_000 }), fc.double(), fc.constant(undefined), fc.string());
    fc.assert(
      fc.property(fc.oneof(fc.record({ bindAddr: anyAddr, bindPort: anyPort }), fc.anything()), (info) => {
        const r = parseForwardRequest(info);
        if ('refused' in r) {
          expect(typeof r.refused).toBe('string');
          return;
        }
        expect(Number.isInteger(r.port) && r.port >= 0 && r.port <= 65535).toBe(true);
        // Whatever the relay is given is an IP literal: never a flag, a path or a name.
        expect(r.listenAddr).toMatch(/^[0-9a-f.:]+$/i);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('held forwards', () => {
  const held = (bindAddr: string, requestedPort: number, boundPort: number): HeldForward => ({ bindAddr, requestedPort, boundPort });

  it('refuses a duplicate port on the same address, and more than the limit', () => {
    const list = [held('localhost', 8080, 8080)];
    expect(admitForward(list, { bindAddr: 'LOCALHOST', listenAddr: '127.0.0.1', port: 8080 })).toMatch(/already forwarded/);
    expect(admitForward(list, { bindAddr: '0.0.0.0', listenAddr: '0.0.0.0', port: 8080 })).toBeNull();
    expect(admitForward(list, { bindAddr: 'localhost', listenAddr: '127.0.0.1', port: 0 })).toBeNull();
    const full = Array.from({ length: MAX_REMOTE_FORWARDS }, (_, i) => held('', 0, 40000 + i));
    expect(admitForward(full, { bindAddr: '', listenAddr: '127.0.0.1', port: 0 })).toMatch(/already has/);
    expect(admitForward(full.slice(1), { bindAddr: '', listenAddr: '127.0.0.1', port: 0 }, 1)).toMatch(/already has/);
  });

  it('cancels a port-0 forward by its bound port, others by either port, never by 0', () => {
    const a = held('localhost', 0, 41234);
    const b = held('', 9000, 9000);
    expect(findForCancel([a, b], 'localhost', 41234)).toBe(a);
    expect(findForCancel([a, b], 'localhost', 0)).toBeNull();
    expect(findForCancel([a, b], '', 9000)).toBe(b);
    expect(findForCancel([a, b], '0.0.0.0', 9000)).toBeNull();
  });

  it('keeps the list consistent through any sequence of adds and cancels (fuzzed)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), addr: fc.constantFrom('', 'localhost', '0.0.0.0'), port: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ kind: fc.constant('cancel' as const), addr: fc.constantFrom('', 'localhost', '0.0.0.0'), port: fc.integer({ min: 0, max: 50 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const list: HeldForward[] = [];
        let next = 40;
        for (const o of ops) {
          const spec = parseForwardRequest({ bindAddr: o.addr, bindPort: o.port });
          if ('refused' in spec) throw new Error('valid input refused');
          if (o.kind === 'add') {
            if (admitForward(list, spec) === null) list.push(held(spec.bindAddr, spec.port, spec.port || next++));
          } else {
            const f = findForCancel(list, spec.bindAddr, spec.port);
            if (f) list.splice(list.indexOf(f), 1);
          }
          expect(list.length).toBeLessThanOrEqual(MAX_REMOTE_FORWARDS);
          const keys = list.map((f) => `${f.bindAddr}|${f.boundPort}`);
          expect(new Set(keys).size).toBe(keys.length);
        }
      }),
    );
  });
});

describe('relay peers', () => {
  it('splits IPv4 and IPv6 peers and replaces anything else', () => {
    expect(splitPeer('127.0.0.1:5555')).toEqual({ addr: '127.0.0.1', port: 5555 });
    expect(splitPeer('[::1]:80')).toEqual({ addr: '::1', port: 80 });
    for (const p of ['', 'x', '1.2.3.4:99999', 'evil\n:1', '@:1']) expect(splitPeer(p)).toEqual({ addr: '127.0.0.1', port: 0 });
  });
});
