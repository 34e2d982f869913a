/**
 * A create cut off by a server crash is rolled back, not left for a person to clean up: the
 * server is killed with SIGKILL while its node is creating a workspace (the agent holds the
 * create after making the container and volume, BERTH_AGENT_CREATE_HOLD_MS), started again on
 * the same data, and once the agent has reconnected the workspace's row, container and volume
 * are all gone, its create operation says why, and the name can be used again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationSchema } from '../../src/api/index.js';
import { dockerLeftovers, type Proc, startAgent, TestServer, uniqueName, waitFor } from './harness.js';

let server: TestServer;
let agent: Proc;
const node = uniqueName('crashnode');

beforeAll(async () => {
  server = await TestServer.start({ localAgent: false });
  agent = (await startAgent(server, { name: node, env: { BERTH_AGENT_CREATE_HOLD_MS: '8000' } })).proc;
  await server.waitNodeOnline(node);
  const build = await server.cli(['image', 'build', 'base', '--from', 'busybox']);
  expect(build.code, build.stderr).toBe(0);
});

afterAll(async () => {
  await server.destroy();
  await agent.stop();
});

describe('a create cut off by a server crash', () => {
  it('is rolled back on the node once the restarted server sees it again', async () => {
    const name = uniqueName('cutoff');
    const accepted = await server.json<any>(['ws', 'create', name, '--no-wait']);
    const wsId = accepted.workspace.id as string;
    await waitFor(`container and volume of ${name}`, async () => (await dockerLeftovers(wsId)).length >= 2, 60_000);

    await server.proc!.stop('SIGKILL');
    await server.launch();
    await server.waitNodeOnline(node, 60_000);

    await waitFor(
      `${name} to be rolled back`,
      async () => {
        const names = (await server.json<any>(['ws', 'ls'])).workspaces.map((w: any) => w.name);
        return !names.includes(name) && (await dockerLeftovers(wsId)).length === 0;
      },
      90_000,
      500,
    );
    // The agent's held create was stopped, not finished after the rollback: nothing comes back.
    await new Promise((r) => setTimeout(r, 9000));
    expect(await dockerLeftovers(wsId)).toEqual([]);

    const op = operationSchema.parse(
      await (await fetch(`${server.url}/api/v1/operations/${accepted.operation.id}`, { headers: { authorization: `Bearer ${server.token}` } })).json(),
    );
    expect(op.status).toBe('failed');
    expect(op.error?.message).toMatch(/server restarted/);
    const audit = (await server.json<any>(['audit', 'ls', '--since', '1h'])).entries;
    expect(audit.find((e: any) => e.action === 'workspace.rollback' && e.target === `workspace/admin/${name}`)).toMatchObject({ outcome: 'ok' });

    // The name is free again and works.
    const again = await server.cli(['ws', 'create', name], { env: {} });
    expect(again.code, again.stderr).toBe(0);
    expect((await server.cli(['ws', 'rm', name])).code).toBe(0);
  });
});
