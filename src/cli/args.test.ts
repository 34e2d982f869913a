import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BerthError, parseOptionalListenAddress } from '../api/index.js';
import { collectEnv, parseCpus, parseEnvAssignment, parseList, parseListen, parseSeconds, parseSshListenOption, parseTtlSeconds } from './args.js';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).code).toBe('INVALID_ARGUMENT');
    return (err as BerthError).field;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('-e NAME=VALUE', () => {
  it('splits at the first = and keeps the rest of the value', () => {
    expect(parseEnvAssignment('A=b=c')).toEqual(['A', 'b=c']);
    expect(parseEnvAssignment('EMPTY=')).toEqual(['EMPTY', '']);
    expect(parseEnvAssignment('_x1=  spaced ')).toEqual(['_x1', '  spaced ']);
  });

  it.each(['NOEQUALS', '=v', '1A=x', 'A-B=x', 'A B=x'])('rejects %s', (text) => {
    expect(fieldOf(() => parseEnvAssignment(text))).toBe('env');
  });

  it('collects repeats, later ones winning, without mutating the previous map', () => {
    const first = collectEnv('A=1', undefined);
    const second = collectEnv('B=2', first);
    expect(collectEnv('A=3', second)).toEqual({ A: '3', B: '2' });
    expect(first).toEqual({ A: '1' });
  });

  it('round-trips any valid name and value', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/), fc.string(), (name, value) => {
        expect(parseEnvAssignment(`${name}=${value}`)).toEqual([name, value]);
      }),
    );
  });
});

describe('numbers and lists', () => {
  it('parses cpus', () => {
    expect(parseCpus('2')).toBe(2);
    expect(parseCpus('0.5')).toBe(0.5);
    for (const bad of ['0', '-1', 'abc', '1e3', '', '2 cores']) expect(fieldOf(() => parseCpus(bad))).toBe('cpus');
  });

  it('parses seconds', () => {
    expect(parseSeconds('30', 'timeout')).toBe(30);
    expect(fieldOf(() => parseSeconds('1.5', 'timeout'))).toBe('timeout');
    expect(fieldOf(() => parseSeconds('10s', 'timeout'))).toBe('timeout');
  });

  it('parses ttls into seconds', () => {
    expect(parseTtlSeconds('30m')).toBe(1800);
    expect(parseTtlSeconds('2h')).toBe(7200);
    expect(parseTtlSeconds('1d')).toBe(86400);
    for (const bad of ['30', 'soon', '5ms', '1w']) expect(fieldOf(() => parseTtlSeconds(bad))).toBe('ttl');
  });

  it('splits package lists', () => {
    expect(parseList('git, curl,,vim ')).toEqual(['git', 'curl', 'vim']);
    expect(parseList('')).toEqual([]);
  });

  it('checks listen addresses', () => {
    expect(parseListen('127.0.0.1:7080')).toBe('127.0.0.1:7080');
    expect(parseListen('[::1]:7080')).toBe('[::1]:7080');
    expect(parseListen('localhost:80')).toBe('localhost:80');
    // A bare port means loopback; the server then gets the same canonical HOST:PORT.
    expect(parseListen('7080')).toBe('127.0.0.1:7080');
    for (const bad of ['0', '127.0.0.1', ':7080', 'host:99999', 'a b:1']) expect(fieldOf(() => parseListen(bad))).toBe('listen');
  });

  it('checks --ssh-listen with the same parser, plus off', () => {
    expect(parseSshListenOption('off')).toBe('off');
    expect(parseSshListenOption('0.0.0.0:2222')).toBe('0.0.0.0:2222');
    // Option parsing and the server agree: a bare port is accepted by both, as loopback.
    expect(parseSshListenOption('2222')).toBe('127.0.0.1:2222');
    expect(parseOptionalListenAddress(parseSshListenOption('2222'), 'sshListen')).toEqual({ host: '127.0.0.1', port: 2222 });
    for (const bad of ['on', '127.0.0.1', 'host:0']) expect(fieldOf(() => parseSshListenOption(bad))).toBe('sshListen');
  });
});
