/** When the API is served over TLS, and which option combinations are refused. */
import { describe, expect, it } from 'vitest';
import { decideListenMode } from './listen-mode.js';

describe('listen mode', () => {
  it('loopback is plain unless --tls or an operator certificate', () => {
    expect(decideListenMode('127.0.0.1', {})).toBe('plain');
    expect(decideListenMode('::1', {})).toBe('plain');
    expect(decideListenMode('127.0.0.1', { tls: true })).toBe('tls');
    expect(decideListenMode('localhost', { tlsCert: 'c', tlsKey: 'k' })).toBe('tls');
  });

  it('any other address serves TLS; plain HTTP there only with --insecure-http', () => {
    expect(decideListenMode('0.0.0.0', {})).toBe('tls');
    expect(decideListenMode('10.0.0.1', {})).toBe('tls');
    expect(decideListenMode('0.0.0.0', { insecureHttp: true })).toBe('plain');
    expect(() => decideListenMode('0.0.0.0', { tls: false })).toThrow(expect.objectContaining({ code: 'FAILED_PRECONDITION', field: 'listen' }));
    expect(decideListenMode('0.0.0.0', { tls: false, insecureHttp: true })).toBe('plain');
  });

  it('contradictions are INVALID_ARGUMENT naming the option', () => {
    expect(() => decideListenMode('0.0.0.0', { tlsCert: 'c' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'tls-key' }));
    expect(() => decideListenMode('0.0.0.0', { tlsCa: 'a' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'tls-ca' }));
    expect(() => decideListenMode('0.0.0.0', { tls: true, insecureHttp: true })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'insecure-http' }),
    );
  });
});
