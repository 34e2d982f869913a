import { describe, expect, it } from 'vitest';
import { BerthError } from '../api/index.js';
import { normalizeServerUrl, toWebSocketUrl } from './server-url.js';

describe('normalizeServerUrl', () => {
  it.each([
    ['http://127.0.0.1:7080/', 'http://127.0.0.1:7080'],
    ['127.0.0.1:7080', 'http://127.0.0.1:7080'],
    ['https://berth.example.com', 'https://berth.example.com'],
    ['https://example.com/berth/', 'https://example.com/berth'],
    ['  HTTP://Example.com:80  ', 'http://example.com'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeServerUrl(input)).toBe(expected);
  });

  it.each(['ftp://x', 'http://', 'http://u:p@host', 'http://host/?q=1'])('rejects %s with field server', (input) => {
    try {
      normalizeServerUrl(input);
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(BerthError);
      expect((err as BerthError).field).toBe('server');
    }
  });
});

describe('toWebSocketUrl', () => {
  it('maps http to ws and https to wss', () => {
    expect(toWebSocketUrl('http://a:1/api')).toBe('ws://a:1/api');
    expect(toWebSocketUrl('https://a/api')).toBe('wss://a/api');
  });
});
