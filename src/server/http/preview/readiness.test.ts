import { describe, expect, it } from 'vitest';
import { type PreviewFacts, previewReadiness } from './readiness.js';

const base: PreviewFacts = { name: 'app', port: 3000, status: 'running', nodeOnline: true };

describe('previewReadiness', () => {
  it('goes on for a running workspace whose port answered (or was not tried yet)', () => {
    expect(previewReadiness(base)).toEqual({ state: 'go' });
  });

  it('shows the starting page while the workspace starts, the port refuses, or its service is not healthy', () => {
    for (const status of ['creating', 'starting', 'restarting'] as const) expect(previewReadiness({ ...base, status }).state).toBe('starting');
    expect(previewReadiness({ ...base, connectError: { code: 'FAILED_PRECONDITION', message: 'Nothing listens', field: 'port' } })).toMatchObject({
      state: 'starting',
      why: expect.stringContaining('port 3000'),
    });
    expect(previewReadiness({ ...base, service: { name: 'web', healthy: false } })).toMatchObject({ state: 'starting', why: expect.stringContaining('web') });
    expect(previewReadiness({ ...base, service: { name: 'web', healthy: true } })).toEqual({ state: 'go' });
  });

  it('fails a stopped workspace, an offline node and other connect errors with their codes', () => {
    expect(previewReadiness({ ...base, status: 'stopped' })).toMatchObject({ state: 'error', error: { code: 'FAILED_PRECONDITION', field: 'name' } });
    expect(previewReadiness({ ...base, nodeOnline: false })).toMatchObject({ state: 'error', error: { code: 'NODE_OFFLINE' } });
    expect(previewReadiness({ ...base, connectError: { code: 'FAILED_PRECONDITION', message: 'not running', field: 'name' } })).toMatchObject({
      state: 'error',
    });
    expect(previewReadiness({ ...base, connectError: { code: 'UNAVAILABLE', message: 'x' } })).toMatchObject({
      state: 'error',
      error: { code: 'UNAVAILABLE' },
    });
  });
});
