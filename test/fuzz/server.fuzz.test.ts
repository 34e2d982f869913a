/**
 * Fuzzing a real berth server process (with its local agent and SSH gateway): every route, the
 * streaming routes, the agent socket and the SSH gateway get hostile input as an admin, a
 * member and no one. After every case the process must be alive and healthy; at the end no
 * workspace row, container, volume, LXC container or QEMU process may exist that the suite
 * did not ask for. BERTH_FUZZ_RUNS sets the cases per property (default 150).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpCases, offTableCases, rawHttpCases, runHttpCase, runOffTableCase, runRawHttpCase } from './http-cases.js';
import { agentCases, execCases, portCases, runAgentCase, runExecCase, runPortCase } from './socket-cases.js';
import { clientSshCases, rawSshCases, runClientSshCase, runRawSshCase } from './ssh-cases.js';
import { counts, FuzzWorld, RUNS, reached } from './world.js';

let world: FuzzWorld;
let sshPort = 0;
let nodeCredential = '';
const started = Date.now();

/** fast-check settings: a seed from the environment replays a failure; the path says which case. */
function params(numRuns: number): fc.Parameters<unknown> {
  const seed = process.env.BERTH_FUZZ_SEED === undefined ? undefined : Number(process.env.BERTH_FUZZ_SEED);
  return { numRuns: Math.max(1, Math.round(numRuns)), seed, endOnFailure: true };
}

/** The time a property may take: generous per case, so a slow machine fails on hangs, not on volume. */
function budget(runs: number, perCaseMs: number): number {
  return 120_000 + Math.round(runs) * perCaseMs;
}

beforeAll(async () => {
  world = await FuzzWorld.start();
  const gw = JSON.parse((await world.call('GET', '/api/v1/gateway', 'admin')).text).ssh;
  sshPort = gw.port;
  // A second node, joined for real, whose agent socket the agent cases speak on.
  const jt = JSON.parse((await world.call('POST', '/api/v1/nodes/join-tokens', 'admin', '{}')).text).token;
  const joined = await world.call('POST', '/api/v1/nodes/join', 'none', JSON.stringify({ token: jt, name: 'fuzz-node' }));
  expect(joined.status, joined.text).toBe(201);
  nodeCredential = JSON.parse(joined.text).credential;
}, 600_000);

afterAll(async () => {
  if (!world) return;
  try {
    const strays = await world.strays();
    expect(strays, 'things exist that no case asked for').toEqual([]);
  } finally {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    console.log(`fuzz: ${total} cases in ${Math.round((Date.now() - started) / 1000)} s ${JSON.stringify(counts)}\nreached: ${JSON.stringify(reached)}`);
    await world.server.destroy();
  }
}, 600_000);

describe('fuzz: a real server survives hostile input', () => {
  it(
    'JSON routes and the streamed GETs (operation events, service logs)',
    async () => {
      await fc.assert(
        fc.asyncProperty(httpCases(world), (c) => world.guard(() => runHttpCase(world, c))),
        params(RUNS),
      );
    },
    budget(RUNS, 1_000),
  );

  it(
    'requests outside the route table',
    async () => {
      await fc.assert(
        fc.asyncProperty(offTableCases(), (c) => world.guard(() => runOffTableCase(world, c))),
        params(RUNS / 3),
      );
    },
    budget(RUNS / 3, 1_000),
  );

  it(
    'bytes on the HTTP port that are not quite HTTP',
    async () => {
      await fc.assert(
        fc.asyncProperty(rawHttpCases(), (c) => world.guard(() => runRawHttpCase(world, c))),
        params(RUNS / 5),
      );
    },
    budget(RUNS / 5, 1_000),
  );

  it(
    'the exec WebSocket',
    async () => {
      await fc.assert(
        fc.asyncProperty(execCases(world), (c) => world.guard(() => runExecCase(world, c))),
        params(RUNS / 5),
      );
    },
    budget(RUNS / 5, 3_000),
  );

  it(
    'the port-forward WebSocket',
    async () => {
      await fc.assert(
        fc.asyncProperty(portCases(world), (c) => world.guard(() => runPortCase(world, c))),
        params(RUNS / 10),
      );
    },
    budget(RUNS / 10, 3_000),
  );

  it(
    'the agent WebSocket',
    async () => {
      await fc.assert(
        fc.asyncProperty(agentCases(), (c) => world.guard(() => runAgentCase(world, nodeCredential, c))),
        params(RUNS / 3),
      );
    },
    budget(RUNS / 3, 2_000),
  );

  it(
    'the SSH gateway over raw TCP',
    async () => {
      await fc.assert(
        fc.asyncProperty(rawSshCases(), (c) => world.guard(() => runRawSshCase(world, sshPort, c))),
        params(RUNS / 5),
      );
    },
    budget(RUNS / 5, 2_000),
  );

  it(
    'the SSH gateway with a logged-in client',
    async () => {
      await fc.assert(
        fc.asyncProperty(clientSshCases(world), (c) => world.guard(() => runClientSshCase(world, sshPort, c))),
        params(RUNS / 10),
      );
      // The cases must have got past the login, or they tested nothing behind it.
      expect(reached['ssh logged in'] ?? 0, 'SSH cases that logged in').toBeGreaterThanOrEqual(Math.round(RUNS / 20));
    },
    budget(RUNS / 10, 10_000),
  );
});
