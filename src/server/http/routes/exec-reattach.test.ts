/** The idle time of kept terminals, read from the server's environment: always within the contract's bounds. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TERMINAL_IDLE_MS, MAX_TERMINAL_IDLE_MS, MIN_TERMINAL_IDLE_MS } from '../../../api/index.js';
import { terminalIdleMs } from './exec-reattach.js';

describe('terminalIdleMs', () => {
  it('defaults to 15 minutes and takes a number of milliseconds', () => {
    expect(terminalIdleMs({})).toBe(DEFAULT_TERMINAL_IDLE_MS);
    expect(terminalIdleMs({ BERTH_WEB_TERMINAL_IDLE_MS: '2500' })).toBe(2500);
    expect(terminalIdleMs({ BERTH_WEB_TERMINAL_IDLE_MS: 'soon' })).toBe(DEFAULT_TERMINAL_IDLE_MS);
    expect(terminalIdleMs({ BERTH_WEB_TERMINAL_IDLE_MS: '' })).toBe(DEFAULT_TERMINAL_IDLE_MS);
    expect(terminalIdleMs({ BERTH_WEB_TERMINAL_IDLE_MS: '10' })).toBe(MIN_TERMINAL_IDLE_MS);
  });

  it('is an integer within the bounds the agent accepts, whatever the variable holds', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.double().map(String), fc.integer().map(String)), (v) => {
        const ms = terminalIdleMs({ BERTH_WEB_TERMINAL_IDLE_MS: v });
        expect(Number.isInteger(ms)).toBe(true);
        expect(ms).toBeGreaterThanOrEqual(MIN_TERMINAL_IDLE_MS);
        expect(ms).toBeLessThanOrEqual(MAX_TERMINAL_IDLE_MS);
      }),
    );
  });
});
