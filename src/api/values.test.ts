import { describe, expect, it } from 'vitest';
import { BerthError } from './errors.js';
import { formatHostPort, parseHostPort, parseListenAddress, parseOptionalListenAddress } from './values.js';

describe('host:port addresses', () => {
  it('reads HOST:PORT, [IPV6]:PORT and a bare PORT as loopback', () => {
    expect(parseHostPort('127.0.0.1:7080')).toEqual({ host: '127.0.0.1', port: 7080 });
    expect(parseHostPort('0.0.0.0:1')).toEqual({ host: '0.0.0.0', port: 1 });
    expect(parseHostPort('berth.example.org:65535')).toEqual({ host: 'berth.example.org', port: 65535 });
    expect(parseHostPort('localhost:80')).toEqual({ host: 'localhost', port: 80 });
    expect(parseHostPort('[::1]:7080')).toEqual({ host: '::1', port: 7080 });
    expect(parseHostPort('[::]:2222')).toEqual({ host: '::', port: 2222 });
    expect(parseHostPort('[fe80::1:2]:22')).toEqual({ host: 'fe80::1:2', port: 22 });
    expect(parseHostPort('2222')).toEqual({ host: '127.0.0.1', port: 2222 });
    expect(parseHostPort(' 7080 ')).toEqual({ host: '127.0.0.1', port: 7080 });
  });

  it('refuses what no listener could use', () => {
    const bad = [
      '',
      'off',
      '0',
      '65536',
      '127.0.0.1',
      ':7080',
      'host:',
      'host:0',
      'host:99999',
      'host:-1',
      'host:12x',
      'a b:1',
      '::1:7080',
      '[::1]',
      '[]:80',
      '[not-v6]:80',
      '[127.0.0.1]:80',
      'a..b:1',
      '-host:1',
      'host-:1',
      'ho_st:1',
      'h:1:2',
      '[::1]:80:90',
      'http://host:80',
    ];
    for (const text of bad) expect(parseHostPort(text), text).toBeUndefined();
  });

  it('formats back to text that parses to the same address', () => {
    for (const text of ['127.0.0.1:7080', '[::1]:7080', 'example.org:22']) {
      const a = parseListenAddress(text, 'listen');
      expect(formatHostPort(a)).toBe(text);
      expect(parseHostPort(formatHostPort(a))).toEqual(a);
    }
    expect(formatHostPort({ host: '::', port: 1 })).toBe('[::]:1');
  });

  it('throws INVALID_ARGUMENT on the named field, listing the accepted forms', () => {
    const err = (() => {
      try {
        parseListenAddress('127.0.0.1', 'listen');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(BerthError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'listen' });
    expect((err as BerthError).message).toMatch(/HOST:PORT.*\[IPV6\]:PORT.*bare PORT/);
    expect((err as BerthError).message).not.toMatch(/\boff\b/);
    expect(() => parseOptionalListenAddress('nope', 'sshListen')).toThrow(/or off\./);
  });

  it('takes off as no listener where that is allowed', () => {
    expect(parseOptionalListenAddress('off', 'sshListen')).toBeNull();
    expect(parseOptionalListenAddress('2222', 'sshListen')).toEqual({ host: '127.0.0.1', port: 2222 });
    expect(() => parseListenAddress('off', 'listen')).toThrow(BerthError);
  });
});
