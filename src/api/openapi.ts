/**
 * The API's OpenAPI 3.1 document, made from the route table and its zod schemas — never a
 * hand-written copy that could drift. `GET /api/v1/openapi.json` serves it and
 * `berth schema openapi` prints it. Request bodies are described in their input form (what a
 * caller may send, defaults unfilled) and responses in their output form (what the server
 * always sends); JSON Schema 2020-12, which OpenAPI 3.1 uses, is what zod writes.
 */
import { z } from 'zod';
import { apiErrorSchema, ERROR_CODES } from './errors.js';
import { execClientFrameSchema, execServerFrameSchema } from './exec.js';
import { portClientFrameSchema, portServerFrameSchema } from './ports.js';
import { operationEventSchema } from './resources.js';
import { API_PREFIX, type RouteName, routes, streams, successStatus, textRoutes } from './routes.js';
import { serviceLogsFrameSchema, serviceLogsQuerySchema } from './services.js';
import { BERTH_VERSION } from './version.js';
import { MAX_WORKSPACE_REF, WORKSPACE_REF_PATTERN } from './workspace-ref.js';

type JsonSchema = Record<string, unknown>;
type Operation = Record<string, unknown>;

const ERROR_REF = { $ref: '#/components/schemas/Error' };

/** A zod schema as an embeddable JSON Schema (no `$schema` key: the document's dialect applies). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });
  return rest;
}

/** `/workspaces/:name` → `/workspaces/{name}`, and the names of its parameters. */
export function openApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = [];
  const converted = path.replace(/:([a-zA-Z]+)/g, (_, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path: converted, params };
}

function pathParameters(params: string[], path = ''): Operation[] {
  return params.map((name) =>
    // Names per owner: a workspace is NAME (the caller's own) or OWNER/NAME, its `/` sent as %2F.
    name === 'name' && path.startsWith('/workspaces/')
      ? {
          name,
          in: 'path',
          required: true,
          description: "The workspace: NAME for the caller's own, OWNER/NAME (the slash encoded as %2F) for another user's.",
          schema: { type: 'string', maxLength: MAX_WORKSPACE_REF, pattern: WORKSPACE_REF_PATTERN },
        }
      : { name, in: 'path', required: true, schema: { type: 'string', maxLength: 256 } },
  );
}

/** A query object's properties as query parameters. */
function queryParameters(schema: z.ZodType): Operation[] {
  const json = jsonSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({ name, in: 'query', required: json.required?.includes(name) ?? false, schema: s }));
}

/** The error answers a route can give, by HTTP status, with the codes that map to each. */
function errorResponses(auth: string, extra: Operation = {}): Operation {
  const statuses = new Map<number, string[]>();
  for (const [code, status] of Object.entries(ERROR_CODES)) {
    if (code === 'UNAUTHENTICATED' && auth === 'none') continue;
    if (code === 'PERMISSION_DENIED' && auth !== 'admin') continue;
    statuses.set(status, [...(statuses.get(status) ?? []), code]);
  }
  const out: Operation = { ...extra };
  for (const [status, codes] of [...statuses].sort((a, b) => a[0] - b[0])) {
    out[String(status)] = { description: `An error: ${codes.join(', ')}.`, content: { 'application/json': { schema: ERROR_REF } } };
  }
  return out;
}

function security(auth: string): Operation {
  return auth === 'none' ? { security: [] } : { security: [{ bearer: [] }] };
}

function jsonOperation(name: RouteName): Operation {
  const def = routes[name];
  const { params } = openApiPath(def.path);
  const parameters = [...pathParameters(params, def.path), ...('query' in def ? queryParameters(def.query) : [])];
  const op: Operation = {
    operationId: name,
    tags: [def.path.split('/')[1]],
    ...security(def.auth),
    ...(def.auth === 'admin' ? { description: 'Only an admin may call this.' } : {}),
    'x-berth-auth': def.auth,
    ...(parameters.length ? { parameters } : {}),
  };
  if (def.body) {
    // The server reads a missing body as `{}`: a body whose every field is optional may be left out.
    const required = !(def.body as z.ZodType).safeParse({}).success;
    op.requestBody = { required, content: { 'application/json': { schema: jsonSchema(def.body, 'input') } } };
  }
  const ok: Operation = { 'application/json': { schema: jsonSchema(def.response, 'output') } };
  if (name === 'workspacesPost') {
    // `Accept: application/x-ndjson` follows the create to its end in the same answer.
    ok['application/x-ndjson'] = {
      schema: { type: 'object', description: 'The created workspace and operation first, then one OperationEvent per line until the operation ends.' },
    };
  }
  const status = successStatus(name);
  op.responses = errorResponses(def.auth, {
    [String(status)]: { description: status === 202 ? 'Accepted: an operation carries it out.' : status === 201 ? 'Created.' : 'OK.', content: ok },
  });
  return op;
}

/** A WebSocket route: a GET that upgrades, with the JSON frames it speaks as extensions. */
function webSocketOperation(
  name: string,
  path: string,
  frames: { client: z.ZodType; server: z.ZodType } | null,
  description: string,
  auth: 'user' | 'node',
): Operation {
  const { params } = openApiPath(path);
  return {
    operationId: name,
    tags: [path.split('/')[1]],
    description: `${description} Upgrade to a WebSocket (\`Connection: Upgrade\`, \`Upgrade: websocket\`).`,
    ...(auth === 'user' ? security('user') : { security: [{ nodeCredential: [] }] }),
    ...(params.length ? { parameters: pathParameters(params, path) } : {}),
    ...(frames ? { 'x-berth-client-frames': jsonSchema(frames.client, 'input'), 'x-berth-server-frames': jsonSchema(frames.server, 'output') } : {}),
    responses: errorResponses('user', { '101': { description: 'Switching protocols: the WebSocket is open.' } }),
  };
}

function streamOperations(): Record<string, Operation> {
  return {
    [streams.operationEvents]: {
      operationId: 'operationEvents',
      tags: ['operations'],
      description: "The operation's events so far, then each new one, as newline-delimited JSON until a `done` event.",
      ...security('user'),
      parameters: pathParameters(['id']),
      responses: errorResponses('user', {
        '200': { description: 'OK.', content: { 'application/x-ndjson': { schema: jsonSchema(operationEventSchema, 'output') } } },
      }),
    },
    [streams.workspaceServiceLogs]: {
      operationId: 'workspaceServiceLogs',
      tags: ['workspaces'],
      description: "A service's output as its supervisor kept it, as newline-delimited JSON frames; with `follow`, until the caller hangs up.",
      ...security('user'),
      parameters: [...pathParameters(['name', 'service'], '/workspaces/'), ...queryParameters(serviceLogsQuerySchema)],
      responses: errorResponses('user', {
        '200': { description: 'OK.', content: { 'application/x-ndjson': { schema: jsonSchema(serviceLogsFrameSchema, 'output') } } },
      }),
    },
    [streams.workspaceExec]: webSocketOperation(
      'workspaceExec',
      streams.workspaceExec,
      { client: execClientFrameSchema, server: execServerFrameSchema },
      'A command in the workspace. Frames are JSON text, data base64 inside; with `binary` in the start frame, stdout and stderr come as binary frames whose first byte is 1 (stdout) or 2 (stderr), and stdin may be sent as binary frames of bytes alone.',
      'user',
    ),
    [streams.workspacePortConnect]: webSocketOperation(
      'workspacePortConnect',
      streams.workspacePortConnect,
      { client: portClientFrameSchema, server: portServerFrameSchema },
      'One TCP connection to a port in the workspace: its bytes as binary frames, control as JSON text frames.',
      'user',
    ),
    [streams.agentConnect]: webSocketOperation(
      'agentConnect',
      streams.agentConnect,
      null,
      "A node agent's link: the agent protocol (src/api/agent-protocol.ts), authenticated with the node's credential.",
      'node',
    ),
  };
}

function textOperations(): Record<string, Operation> {
  const def = textRoutes.metrics;
  return {
    [def.path]: {
      operationId: 'metrics',
      tags: ['metrics'],
      description: "The server's Prometheus metrics. Only an admin may call this.",
      ...security(def.auth),
      'x-berth-auth': def.auth,
      responses: errorResponses(def.auth, { '200': { description: 'OK.', content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } } } }),
    },
  };
}

/** Builds the whole document. */
export function buildOpenApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, Operation>> = {};
  const add = (path: string, method: string, op: Operation): void => {
    const key = openApiPath(path).path;
    paths[key] = { ...(paths[key] ?? {}), [method.toLowerCase()]: op };
  };
  for (const name of Object.keys(routes) as RouteName[]) add(routes[name].path, routes[name].method, jsonOperation(name));
  for (const [path, op] of Object.entries(streamOperations())) add(path, 'GET', op);
  for (const [path, op] of Object.entries(textOperations())) add(path, 'GET', op);
  return {
    openapi: '3.1.0',
    info: {
      title: 'berth API',
      version: BERTH_VERSION,
      description:
        'The HTTP API of a berth server: the same contract the CLI, the agent and the web UI use. Errors always have the Error shape; `x-berth-error-codes` maps each code to its HTTP status.',
    },
    servers: [{ url: API_PREFIX }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token (`berth token create`), sent as `Authorization: Bearer TOKEN`.' },
        nodeCredential: { type: 'http', scheme: 'bearer', description: "A node's credential, issued when it joins." },
      },
      schemas: { Error: jsonSchema(apiErrorSchema, 'output') },
    },
    'x-berth-error-codes': { ...ERROR_CODES },
  };
}
