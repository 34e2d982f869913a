/** The published OpenAPI document: valid OpenAPI 3.1, complete against the route table, every schema compilable. */
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from './errors.js';
import { buildOpenApiDocument, openApiPath } from './openapi.js';
import { type RouteName, routes, streams, successStatus, textRoutes } from './routes.js';

type Doc = {
  paths: Record<
    string,
    Record<
      string,
      { operationId: string; responses: Record<string, unknown>; requestBody?: { content: Record<string, { schema: object }> }; security: unknown[] }
    >
  >;
};
const doc = buildOpenApiDocument() as unknown as Doc;

describe('the OpenAPI document', () => {
  it('validates as OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('has every JSON route with its method, operation id, success status and auth', () => {
    for (const name of Object.keys(routes) as RouteName[]) {
      const def = routes[name];
      const op = doc.paths[openApiPath(def.path).path]?.[def.method.toLowerCase()];
      expect(op, `${name} (${def.method} ${def.path})`).toBeDefined();
      expect(op!.operationId).toBe(name);
      expect(Object.keys(op!.responses)).toContain(String(successStatus(name)));
      expect(op!.security).toEqual(def.auth === 'none' ? [] : [{ bearer: [] }]);
      expect(Boolean(op!.requestBody)).toBe(def.body !== null);
    }
  });

  it('has every streaming and text route', () => {
    for (const path of [...Object.values(streams), ...Object.values(textRoutes).map((r) => r.path)]) {
      expect(doc.paths[openApiPath(path).path]?.get, path).toBeDefined();
    }
  });

  it("names every error code with its status, and answers every route's errors in the Error shape", () => {
    expect((doc as unknown as { 'x-berth-error-codes': object })['x-berth-error-codes']).toEqual(ERROR_CODES);
    const described = JSON.stringify(doc.paths);
    for (const code of Object.keys(ERROR_CODES)) expect(described).toContain(code);
    for (const ops of Object.values(doc.paths)) {
      for (const op of Object.values(ops))
        expect(op.responses['400']).toMatchObject({ content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
    }
  });

  it('holds only JSON Schemas that compile (2020-12), and a body schema refuses what the server refuses', () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    let compiled = 0;
    const walk = (value: unknown): void => {
      if (value === null || typeof value !== 'object') return;
      const rec = value as Record<string, unknown>;
      if ('schema' in rec && typeof rec.schema === 'object' && rec.schema !== null && !('$ref' in (rec.schema as object))) {
        ajv.compile(rec.schema as object);
        compiled++;
      }
      for (const v of Object.values(rec)) walk(v);
    };
    walk(doc.paths);
    expect(compiled).toBeGreaterThan(Object.keys(routes).length);
    // A sample: the create body's schema takes a valid body and refuses an unknown key, as the server's zod schema does.
    const create = doc.paths['/workspaces']!.post!.requestBody!.content['application/json']!.schema;
    const check = ajv.compile(create);
    expect(check({ name: 'api' })).toBe(true);
    expect(check({ name: 'api', surprise: 1 })).toBe(routes.workspacesPost.body.safeParse({ name: 'api', surprise: 1 }).success);
  });
});
