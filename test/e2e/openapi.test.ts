/**
 * The published API schema end to end: the server serves its OpenAPI document without a
 * token, and `berth schema openapi` prints the same document with no server at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer } from './harness.js';

let server: TestServer;

beforeAll(async () => {
  server = await TestServer.start();
});

afterAll(async () => {
  await server.destroy();
});

describe('GET /api/v1/openapi.json and berth schema openapi', () => {
  it('serves the document to anyone, and the CLI prints the same one offline', async () => {
    const res = await fetch(`${server.url}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    const served = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(served.openapi).toBe('3.1.0');
    expect(Object.keys(served.paths)).toEqual(expect.arrayContaining(['/workspaces', '/workspaces/{name}', '/openapi.json', '/workspaces/{name}/exec']));

    // No server named: the document comes from the CLI's own copy of the contract.
    const printed = await server.cli(['schema', 'openapi'], { env: { BERTH_SERVER: 'http://127.0.0.1:1' } });
    expect(printed.code, printed.stderr).toBe(0);
    expect(JSON.parse(printed.stdout)).toEqual(served);
  });
});
