import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BerthError, parsePortParam } from '../../api/index.js';
import { parsePortPair } from './port-forward.js';

describe('port pairs', () => {
  it('reads REMOTE, LOCAL:REMOTE and 0:REMOTE', () => {
    expect(parsePortPair('8080')).toEqual({ local: 8080, remote: 8080 });
    expect(parsePortPair('9000:8080')).toEqual({ local: 9000, remote: 8080 });
    expect(parsePortPair('0:22')).toEqual({ local: 0, remote: 22 });
  });

  it('answers anything else with INVALID_ARGUMENT on the ports field, never a bad port', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 20 }),
          fc.integer().map(String),
          fc.tuple(fc.integer(), fc.integer()).map(([a, b]) => `${a}:${b}`),
        ),
        (text) => {
          try {
            const p = parsePortPair(text);
            expect(p.remote >= 1 && p.remote <= 65535 && p.local >= 0 && p.local <= 65535).toBe(true);
          } catch (err) {
            expect(err).toBeInstanceOf(BerthError);
            expect((err as BerthError).field).toBe('ports');
          }
        },
      ),
    );
  });

  it('path port parameters are 1-65535 in plain digits only', () => {
    expect(parsePortParam('8080')).toBe(8080);
    for (const bad of ['0', '65536', '8080 ', '+80', '0x50', '', '1e3', '-1']) expect(parsePortParam(bad), bad).toBeNull();
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), (s) => {
        const n = parsePortParam(s);
        if (n !== null) expect(Number.isInteger(n) && n >= 1 && n <= 65535).toBe(true);
      }),
    );
  });
});
