/**
 * WebSocket cases: the exec socket (hostile start requests, frames out of order, garbage text
 * and binary) and the agent socket (garbage, wrong protocol versions, frames before `hello`,
 * requests, responses and events with hostile names and payloads). Every error the server
 * sends back must carry a registered code other than INTERNAL; the server must stay healthy.
 */
import fc from 'fast-check';
import WebSocket from 'ws';
import { AGENT_PROTOCOL_VERSION } from '../../src/api/agent-protocol.js';
import { ERROR_CODES, type ErrorCode } from '../../src/api/errors.js';
import { API_PREFIX, streams } from '../../src/api/routes.js';
import { hostileJson, hostileNumber, hostileString, rawPathSegment } from './hostile.js';
import { assertRegisteredAnswer, countCase, countReached, type FuzzWorld, HANG_MS, type Who } from './world.js';

/** A frame a fuzz client sends: JSON text, raw text, or binary. */
type Frame = { kind: 'json'; value: unknown } | { kind: 'text'; text: string } | { kind: 'binary'; bytes: Uint8Array };

const garbageFrame: fc.Arbitrary<Frame> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }).map((text): Frame => ({ kind: 'text', text })),
  fc.uint8Array({ maxLength: 300 }).map((bytes): Frame => ({ kind: 'binary', bytes })),
  hostileJson.map((value): Frame => ({ kind: 'json', value })),
);

/** One exec-socket case. */
export interface ExecCase {
  who: Who;
  workspace: string;
  frames: Frame[];
}

/** A start request whose every field has the right type, with hostile contents: it reaches the node. */
const plausibleExecRequest = fc.record(
  {
    cmd: fc.oneof(
      // Long arguments included: a command name past 64 KiB used to hang `runc exec` for good
      // (its error message overflows a pipe); the contract now bounds the name by PATH_MAX.
      fc.array(hostileString(['true', 'sh', '-c', 'cat', 'echo', '/bin/sh', 'exit 3']), { minLength: 1, maxLength: 4 }),
      fc.constantFrom(
        ['sh', '-c', 'echo hi; exit 3'],
        ['cat'],
        ['true'],
        ['/nonexistent'],
        ['sh', '-c', 'head -c 100000 /dev/zero'],
        ['sh', '-c', 'kill -9 $$'],
      ),
    ),
    tty: fc.boolean(),
    env: fc.dictionary(fc.constantFrom('PATH', 'LD_PRELOAD', 'A', 'HOME', 'TERM', 'IFS'), hostileString(), { maxKeys: 3 }),
    cwd: fc.constantFrom('/', '/tmp', '/../../..', '/nonexistent', '/\u0000', '/proc/self', '/etc/passwd'),
    cols: fc.integer({ min: 1, max: 10_000 }),
    rows: fc.integer({ min: 1, max: 10_000 }),
  },
  { requiredKeys: ['cmd'] },
);

/** Start requests: mostly plausible, sometimes with any field of any type. */
const execRequest = fc.oneof(
  { weight: 3, arbitrary: plausibleExecRequest },
  {
    weight: 1,
    arbitrary: fc.record(
      { cmd: hostileJson, tty: hostileJson, env: hostileJson, cwd: hostileJson, cols: hostileNumber, rows: hostileNumber },
      { requiredKeys: [] },
    ),
  },
);

/** A start frame's `binary` (output and input as binary frames): absent, a boolean, or of any type. */
const startBinary = fc.oneof(
  fc.constant({}),
  fc.boolean().map((binary) => ({ binary })),
  hostileJson.map((binary) => ({ binary })),
);

const execFrame: fc.Arbitrary<Frame> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.tuple(execRequest, startBinary).map(([request, binary]): Frame => ({ kind: 'json', value: { type: 'start', request, ...binary } })),
  },
  {
    weight: 2,
    arbitrary: fc
      .string({ unit: 'binary', maxLength: 100 })
      .map((s): Frame => ({ kind: 'json', value: { type: 'stdin', data: Buffer.from(s).toString('base64') } })),
  },
  { weight: 1, arbitrary: hostileString().map((data): Frame => ({ kind: 'json', value: { type: 'stdin', data } })) },
  { weight: 1, arbitrary: fc.constant<Frame>({ kind: 'json', value: { type: 'eof' } }) },
  { weight: 1, arbitrary: fc.record({ cols: hostileNumber, rows: hostileNumber }).map((r): Frame => ({ kind: 'json', value: { type: 'resize', ...r } })) },
  { weight: 2, arbitrary: garbageFrame },
);

/** The arbitrary of exec-socket cases. */
export function execCases(world: FuzzWorld): fc.Arbitrary<ExecCase> {
  return fc.record({
    who: fc.constantFrom<Who>('admin', 'admin', 'member', 'none', 'bogus'),
    workspace: fc.oneof({ weight: 3, arbitrary: fc.constant(world.target) }, { weight: 1, arbitrary: hostileString() }),
    // Most cases open with a start frame, so they reach the node and not only the first check.
    frames: fc
      .tuple(
        fc.option(
          fc.tuple(execRequest, startBinary).map(([request, binary]): Frame => ({ kind: 'json', value: { type: 'start', request, ...binary } })),
          { freq: 4 },
        ),
        fc.array(execFrame, { maxLength: 5 }),
      )
      .map(([start, rest]) => (start ? [start, ...rest] : rest)),
  });
}

/** Runs one exec-socket case. */
export async function runExecCase(world: FuzzWorld, c: ExecCase): Promise<void> {
  countCase('exec-socket');
  const path = API_PREFIX + streams.workspaceExec.replace(':name', rawPathSegment(c.workspace));
  const what = `exec socket ${path.slice(0, 200)} as ${c.who} with ${JSON.stringify(c.frames).slice(0, 400)}`;
  await speak(world, path, world.authHeader(c.who), c.frames, what, 1_500, (text) => {
    const f = JSON.parse(text) as { type: string; error?: { code: string; message: string } };
    countReached(`exec frame ${f.type}${f.error ? ` ${f.error.code}` : ''}`);
    if (f.type === 'error') assertRegisteredAnswer({ status: statusOf(f.error!.code), headers: {}, text: JSON.stringify(f.error) }, `${what}: error frame`);
  });
  await world.assertAlive(what);
}

/** One port-forward-socket case: any port text, then bytes, control frames and garbage. */
export interface PortCase {
  who: Who;
  workspace: string;
  port: string;
  frames: Frame[];
}

/** The arbitrary of port-forward-socket cases. */
export function portCases(world: FuzzWorld): fc.Arbitrary<PortCase> {
  return fc.record({
    who: fc.constantFrom<Who>('admin', 'admin', 'member', 'none', 'bogus'),
    workspace: fc.oneof({ weight: 3, arbitrary: fc.constant(world.target) }, { weight: 1, arbitrary: hostileString() }),
    port: fc.oneof(fc.constantFrom('22', '80', '1', '65535', '0', '65536', '-1', '8080 ', '0x50', '1e3', '%2e%2e'), hostileString(), fc.integer().map(String)),
    frames: fc.array(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }).map((bytes): Frame => ({ kind: 'binary', bytes })),
        fc.constant<Frame>({ kind: 'json', value: { type: 'eof' } }),
        garbageFrame,
      ),
      { maxLength: 5 },
    ),
  });
}

/** Runs one port-forward-socket case. */
export async function runPortCase(world: FuzzWorld, c: PortCase): Promise<void> {
  countCase('port-socket');
  const path = API_PREFIX + streams.workspacePortConnect.replace(':name', rawPathSegment(c.workspace)).replace(':port', rawPathSegment(c.port));
  const what = `port socket ${path.slice(0, 200)} as ${c.who} with ${JSON.stringify(c.frames).slice(0, 400)}`;
  await speak(world, path, world.authHeader(c.who), c.frames, what, 1_500, (text) => {
    const f = JSON.parse(text) as { type: string; error?: { code: string; message: string } };
    countReached(`port frame ${f.type}${f.error ? ` ${f.error.code}` : ''}`);
    if (f.type === 'error') assertRegisteredAnswer({ status: statusOf(f.error!.code), headers: {}, text: JSON.stringify(f.error) }, `${what}: error frame`);
  });
  await world.assertAlive(what);
}

/** One agent-socket case. */
export interface AgentCase {
  credential: 'valid' | 'none' | 'bogus';
  frames: Frame[];
}

const validResources = fc.record({ cpus: fc.nat(256), memoryBytes: fc.nat(), memoryFreeBytes: fc.nat(), diskBytes: fc.nat(), diskFreeBytes: fc.nat() });
const report = fc.record(
  {
    agentVersion: fc.oneof({ weight: 3, arbitrary: hostileString() }, { weight: 1, arbitrary: hostileJson }),
    resources: fc.oneof(
      { weight: 3, arbitrary: validResources },
      {
        weight: 1,
        arbitrary: fc.record({
          cpus: hostileNumber,
          memoryBytes: hostileNumber,
          memoryFreeBytes: hostileNumber,
          diskBytes: hostileNumber,
          diskFreeBytes: hostileNumber,
        }),
      },
      { weight: 1, arbitrary: hostileJson },
    ),
    providers: fc.oneof(
      {
        weight: 3,
        arbitrary: fc.array(
          fc.record({
            kind: fc.constantFrom('docker', 'lxc', 'qemu'),
            usable: fc.boolean(),
            details: fc.dictionary(hostileString(), hostileString(), { maxKeys: 2 }),
          }),
          { maxLength: 3 },
        ),
      },
      { weight: 1, arbitrary: hostileJson },
    ),
    workspaces: fc.oneof(
      {
        weight: 3,
        arbitrary: fc.array(
          fc.record({ workspaceId: hostileString(), status: fc.constantFrom('running', 'stopped', 'failed', 'unknown', 'deleting', 'creating') }),
          { maxLength: 3 },
        ),
      },
      { weight: 1, arbitrary: hostileJson },
    ),
  },
  { requiredKeys: ['agentVersion', 'resources', 'providers', 'workspaces'] },
);

const agentFrame: fc.Arbitrary<Frame> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record({
        protocolVersion: fc.oneof(
          { weight: 4, arbitrary: fc.constant(AGENT_PROTOCOL_VERSION) },
          { weight: 1, arbitrary: hostileNumber },
          { weight: 1, arbitrary: hostileJson },
        ),
        report,
      })
      .map(({ protocolVersion, report: r }): Frame => ({ kind: 'json', value: { type: 'hello', protocolVersion, ...r } })),
  },
  { weight: 2, arbitrary: report.map((r): Frame => ({ kind: 'json', value: { type: 'heartbeat', ...r } })) },
  {
    weight: 2,
    arbitrary: fc
      .record({
        id: hostileString(),
        method: hostileString(['workspace.create', 'exec.open', 'image.list', '__proto__', 'constructor', 'toString']),
        params: hostileJson,
      })
      .map((r): Frame => ({ kind: 'json', value: { type: 'request', ...r } })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ id: hostileString(), result: hostileJson, error: fc.option(hostileJson) })
      .map((r): Frame => ({ kind: 'json', value: { type: 'response', ...r } })),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({
        name: hostileString([
          'op.progress',
          'op.log',
          'exec.exit',
          'exec.pause',
          'exec.resume',
          'exec.close',
          'ports.changed',
          'services.changed',
          '__proto__',
          'constructor',
          'toString',
          'hasOwnProperty',
        ]),
        payload: fc.oneof(
          hostileJson,
          fc.record(
            {
              opId: hostileString(),
              sessionId: hostileString(),
              stage: hostileString(),
              fraction: hostileNumber,
              line: hostileString(),
              exitCode: hostileNumber,
              stream: fc.constantFrom('input', 'output'),
            },
            { requiredKeys: [] },
          ),
          // A node reporting ports for any workspace id, its own or not, with hostile entries.
          fc.record({
            workspaceId: hostileString(),
            ports: fc.array(
              fc.record({
                port: hostileNumber,
                protocol: fc.constantFrom('tcp', 'udp', 'sctp'),
                addresses: fc.array(hostileString(), { maxLength: 20 }),
                process: fc.option(fc.record({ pid: hostileNumber, name: hostileString() })),
              }),
              { maxLength: 5 },
            ),
          }),
        ),
      })
      .map((r): Frame => ({ kind: 'json', value: { type: 'event', ...r } })),
  },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constantFrom('welcome', 'hello', 'x', '__proto__'), extra: hostileJson }).map((r): Frame => ({ kind: 'json', value: r })),
  },
  { weight: 2, arbitrary: garbageFrame },
);

/** The arbitrary of agent-socket cases. */
export function agentCases(): fc.Arbitrary<AgentCase> {
  return fc.record({
    credential: fc.constantFrom<AgentCase['credential']>('valid', 'valid', 'valid', 'none', 'bogus'),
    // Most cases say a well-formed hello first, so the frames after it meet a welcomed connection.
    frames: fc
      .tuple(
        fc.option(fc.record({ agentVersion: fc.constant('0.1.0'), resources: validResources, providers: fc.constant([]), workspaces: fc.constant([]) }), {
          freq: 3,
        }),
        fc.array(agentFrame, { maxLength: 8 }),
      )
      .map(([hello, rest]): Frame[] =>
        hello ? [{ kind: 'json', value: { type: 'hello', protocolVersion: AGENT_PROTOCOL_VERSION, ...hello } }, ...rest] : rest,
      ),
  });
}

/** Runs one agent-socket case with the fuzz node's credential (or none, or a bad one). */
export async function runAgentCase(world: FuzzWorld, credential: string, c: AgentCase): Promise<void> {
  countCase('agent-socket');
  const headers: Record<string, string> =
    c.credential === 'valid' ? { authorization: `Bearer ${credential}` } : c.credential === 'bogus' ? { authorization: 'Bearer bnc_bogus' } : {};
  const what = `agent socket (${c.credential}) with ${JSON.stringify(c.frames).slice(0, 500)}`;
  await speak(world, API_PREFIX + streams.agentConnect, headers, c.frames, what, 250, (text) => {
    const f = JSON.parse(text) as { type: string; error?: { code: string } };
    countReached(`agent frame ${f.type}`);
    if (f.type === 'response' && f.error) {
      // The server answers no agent requests: UNSUPPORTED is the truth there.
      assertRegisteredAnswer({ status: statusOf(f.error.code), headers: {}, text: JSON.stringify(f.error) }, `${what}: response`, ['UNSUPPORTED']);
    }
  });
  await world.assertAlive(what);
}

/**
 * Opens a WebSocket, sends the frames, and waits until the server closes it or goes quiet.
 * A refused upgrade must be a registered HTTP error.
 */
function speak(
  world: FuzzWorld,
  path: string,
  headers: Record<string, string>,
  frames: Frame[],
  what: string,
  quietMs: number,
  onText: (text: string) => void,
): Promise<void> {
  const url = world.server.url.replace(/^http/, 'ws') + path;
  return new Promise<void>((resolve, reject) => {
    let done = false;
    let quiet: NodeJS.Timeout | undefined;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      clearTimeout(hang);
      clearTimeout(quiet);
      ws.terminate();
      if (err) reject(err);
      else resolve();
    };
    const hang = setTimeout(() => finish(new Error(`HANG: ${what} got no answer within ${HANG_MS} ms`)), HANG_MS);
    const ws = new WebSocket(url, { headers, handshakeTimeout: HANG_MS });
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d));
      res.on('end', () => {
        try {
          assertRegisteredAnswer({ status: res.statusCode ?? 0, headers: res.headers, text }, `${what}: upgrade refused`);
          finish();
        } catch (err) {
          finish(err);
        }
      });
    });
    ws.on('error', (err) => {
      // A socket the server tore down mid-frame is an acceptable answer to garbage; a refused connection is not.
      if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') finish(err);
      else finish();
    });
    ws.on('close', (code) => {
      countReached(`${path.includes('/agent/') ? 'agent' : 'exec'} socket closed ${code}`);
      finish();
    });
    ws.on('message', (data, isBinary) => {
      // The server is still talking: give it another quiet period.
      clearTimeout(quiet);
      if (quiet) quiet = setTimeout(() => finish(), quietMs);
      if (isBinary) return;
      try {
        onText(data.toString());
      } catch (err) {
        finish(err);
      }
    });
    ws.on('open', () => {
      for (const f of frames) {
        if (f.kind === 'json') ws.send(JSON.stringify(f.value) ?? 'null');
        else if (f.kind === 'text') ws.send(f.text);
        else ws.send(f.bytes, { binary: true });
      }
      // Give the server a moment to answer what it got, then hang up.
      quiet = setTimeout(() => finish(), quietMs);
    });
  });
}

/** The HTTP status that goes with an error code, or 0 for an unknown code (which the check then reports). */
function statusOf(code: string): number {
  return Object.hasOwn(ERROR_CODES, code) ? ERROR_CODES[code as ErrorCode] : 0;
}
