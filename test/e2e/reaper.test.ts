/**
 * The server-side reaper, end to end: a container made by hand with berth's labels for a node
 * (the agent holds no handle for it, the server no row) is reported by the agent as an orphan
 * and removed by the server once the grace (`--reap-grace 3s`) has passed, with a
 * `workspace.reap` audit entry; a workspace that is mid-operation for longer than the grace (a
 * create the agent holds, BERTH_AGENT_CREATE_HOLD_MS) is left alone and finishes normally.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, dockerLeftovers, type Proc, runProgram, startAgent, TestServer, uniqueName, waitFor } from './harness.js';

const GRACE_MS = 3000;
let server: TestServer;
let agent: Proc;
let nodeId: string;
const node = uniqueName('reapnode');
const handMade: string[] = [];

beforeAll(async () => {
  server = await TestServer.start({ localAgent: false, extraArgs: ['--reap-grace', `${GRACE_MS / 1000}s`] });
  // Creates are held 12 s between making the workspace and starting it: mid-operation for
  // four graces.
  agent = (await startAgent(server, { name: node, env: { BERTH_AGENT_CREATE_HOLD_MS: '12000' } })).proc;
  nodeId = (await server.waitNodeOnline(node)).id;
  const build = await server.cli(['image', 'build', 'base', '--from', 'busybox']);
  expect(build.code, build.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await server?.destroy();
  await agent?.stop();
  for (const id of handMade)
    await docker
      .getContainer(id)
      .remove({ force: true })
      .catch(() => {});
});

describe('the server-side reaper', () => {
  it('removes a labelled container berth has no record of after the grace, audited, and leaves a workspace mid-create alone', async () => {
    // A workspace mid-operation: its row is `creating` while the agent holds the create.
    const name = uniqueName('held');
    const accepted = await server.json<any>(['ws', 'create', name, '--no-wait']);
    const heldId = accepted.workspace.id as string;
    await waitFor(`container and volume of ${name}`, async () => (await dockerLeftovers(heldId)).length >= 2, 60_000);

    // A container nobody in berth knows, labelled for this node.
    const strayId = randomUUID();
    const run = await runProgram('docker', [
      'run',
      '-d',
      '--label',
      'berth.managed=true',
      '--label',
      `berth.node=${nodeId}`,
      '--label',
      `berth.workspace=${strayId}`,
      'berth/base:latest',
      'sleep',
      '600',
    ]);
    expect(run.code, run.stderr).toBe(0);
    handMade.push(run.stdout.trim());
    const madeAt = Date.now();

    const goneAt = await waitFor(
      'the stray container to be reaped',
      async () => ((await dockerLeftovers(strayId)).length === 0 ? Date.now() : undefined),
      30_000,
      100,
    );
    // Not before the grace: the agent had to report it unknown for the whole of it.
    expect(goneAt - madeAt).toBeGreaterThanOrEqual(GRACE_MS);
    const audit = (await server.json<any>(['audit', 'ls', '--since', '1h'])).entries;
    const entry = audit.find((e: any) => e.action === 'workspace.reap' && e.target === `workspace/${strayId}`);
    expect(entry).toMatchObject({ outcome: 'ok', actor: 'berth' });
    expect(entry.detail).toContain(`on node ${node}`);
    expect(entry.detail).toContain('labelled by berth but held by no agent handle');

    // The held create was never touched: still there, still creating, and then it finishes.
    expect((await dockerLeftovers(heldId)).length).toBeGreaterThanOrEqual(2);
    expect((await server.json<any>(['ws', 'show', name])).status).toBe('creating');
    await waitFor(`${name} running`, async () => (await server.json<any>(['ws', 'show', name])).status === 'running', 60_000, 500);
    const op = await waitFor('the create operation to end', async () => {
      const o: any = await (
        await fetch(`${server.url}/api/v1/operations/${accepted.operation.id}`, { headers: { authorization: `Bearer ${server.token}` } })
      ).json();
      return o.status === 'running' ? undefined : o;
    });
    expect(op.status).toBe('succeeded');
    expect(audit.filter((e: any) => e.action === 'workspace.reap' && e.target === `workspace/${heldId}`)).toEqual([]);
    const exec = await server.cli(['ws', 'exec', name, '--', 'echo', 'untouched']);
    expect(exec.stdout.trim(), exec.stderr).toBe('untouched');
  }, 120_000);
});
