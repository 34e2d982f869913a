import { describe, expect, it } from 'vitest';
import { frameBytes } from './frame-bytes.js';

describe('frameBytes', () => {
  it('keeps a Buffer as the same object, with no copy', () => {
    const b = Buffer.from('abc');
    expect(frameBytes(b)).toBe(b);
  });
  it('joins fragments and wraps an ArrayBuffer', () => {
    expect(frameBytes([Buffer.from('ab'), Buffer.from('c')]).toString()).toBe('abc');
    expect(frameBytes(new Uint8Array([1, 2, 3]).buffer).equals(Buffer.from([1, 2, 3]))).toBe(true);
  });
});
