import fc from 'fast-check';
import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parsePromText, sampleValue } from './prom-text.js';

describe('parsePromText', () => {
  it('reads back what prom-client wrote, whatever the label values and numbers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), fc.oneof(fc.integer(), fc.double({ noNaN: true })), async (a, b, value) => {
        const registry = new Registry();
        const g = new Gauge({ name: 'x_gauge', help: 'h', labelNames: ['a', 'b'], registers: [registry] });
        g.set({ a, b }, value);
        const parsed = parsePromText(await registry.metrics());
        expect(parsed).toHaveLength(1);
        expect(parsed[0].labels).toEqual({ a, b });
        expect(sampleValue(parsed, 'x_gauge', { a, b })).toBe(value === 0 ? 0 : value);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a line that is not a sample', () => {
    expect(() => parsePromText('not a sample line here')).toThrow(/not a Prometheus sample/);
    expect(() => parsePromText('x{a=b} 1')).toThrow(/bad labels/);
  });
});
