/**
 * Cancelling through the CLI: `berth op cancel ID` of a running create, and `berth ws rm` of a
 * workspace still being created. The agent is told to hold each create for a while after the
 * container and volume exist (BERTH_AGENT_CREATE_HOLD_MS), so the cancel lands when there is
 * something to undo; afterwards nothing of the workspace remains: no row, Docker container or
 * volume, LXC container or rootfs.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerLeftovers, LXC_PATH, lxcContainersOf, TestServer, uniqueName, waitFor } from './harness.js';

let server: TestServer;
let imagesDir = '';

beforeAll(async () => {
  // The test's LXC images stay in a directory of its own, removed afterwards.
  imagesDir = await mkdtemp('/var/tmp/berth-e2e-cancel-images-');
  server = await TestServer.start({ localAgent: true, env: { BERTH_AGENT_CREATE_HOLD_MS: '60000', BERTH_LXC_IMAGES_DIR: imagesDir } });
  await server.waitNodeOnline();
  const build = await server.cli(['image', 'build', 'base', '--from', 'busybox']);
  expect(build.code, build.stderr).toBe(0);
});

afterAll(async () => {
  try {
    await server?.destroy();
  } finally {
    if (imagesDir) await rm(imagesDir, { recursive: true, force: true });
  }
});

/** Starts a create without waiting; resolves once its container and volume exist on the node. */
async function createHeld(name: string): Promise<{ wsId: string; opId: string }> {
  const accepted = await server.json<any>(['ws', 'create', name, '--no-wait']);
  const wsId = accepted.workspace.id as string;
  await waitFor(`container and volume of ${name}`, async () => (await dockerLeftovers(wsId)).length >= 2, 60_000);
  const row = await server.json<any>(['ws', 'show', name]);
  expect(row.status).toBe('creating');
  return { wsId, opId: accepted.operation.id as string };
}

async function operation(id: string): Promise<any> {
  const res = await fetch(`${server.url}/api/v1/operations/${id}`, { headers: { authorization: `Bearer ${server.token}` } });
  return res.json();
}

async function workspaceNames(): Promise<string[]> {
  return (await server.json<any>(['ws', 'ls'])).workspaces.map((w: any) => w.name);
}

describe('cancelling a create', () => {
  it('berth op cancel stops a running create and leaves nothing behind', async () => {
    const name = uniqueName('cancel');
    const { wsId, opId } = await createHeld(name);
    const r = await server.cli(['op', 'cancel', opId]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Cancelled workspace.create of workspace/admin/${name}; nothing it made was kept.`);

    const op = await operation(opId);
    expect(op.status).toBe('failed');
    expect(op.error.code).toBe('CANCELLED');
    expect(op.error.message).toContain('cancelled by admin');
    expect(await workspaceNames()).not.toContain(name);
    expect(await dockerLeftovers(wsId)).toEqual([]);

    // It is over: a second cancel has nothing to stop.
    const again = await server.cli(['op', 'cancel', opId]);
    expect(again.code).toBe(5);
    expect(again.stderr).toContain('FAILED_PRECONDITION');
  });

  it('berth ws rm of a workspace still being created cancels the create and removes everything', async () => {
    const name = uniqueName('rmcreating');
    const { wsId, opId } = await createHeld(name);
    const rm = await server.cli(['ws', 'rm', name]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toContain(`Workspace ${name} is deleted.`);
    const op = await operation(opId);
    expect(op.status).toBe('failed');
    expect(op.error.code).toBe('CANCELLED');
    expect(await workspaceNames()).not.toContain(name);
    expect(await dockerLeftovers(wsId)).toEqual([]);
  });

  it('a follower of the create sees it end CANCELLED', async () => {
    const name = uniqueName('followed');
    const follow = server.cli(['ws', 'create', name]);
    const wsId = await waitFor(
      `workspace ${name} to be recorded`,
      async () => (await server.json<any>(['ws', 'ls'])).workspaces.find((w: any) => w.name === name)?.id as string | undefined,
    );
    await waitFor(`container and volume of ${name}`, async () => (await dockerLeftovers(wsId)).length >= 2, 60_000);
    const rm = await server.cli(['ws', 'rm', name]);
    expect(rm.code, rm.stderr).toBe(0);
    const followed = await follow;
    // A failed operation exits by its error code (CANCELLED → 5, see docs/cli.md), the code on stderr.
    expect(followed.code).toBe(5);
    expect(followed.stderr).toContain('CANCELLED');
    expect(await dockerLeftovers(wsId)).toEqual([]);
  });

  it('berth op cancel stops an LXC create and leaves no container or rootfs', async () => {
    const name = uniqueName('lxccancel');
    const accepted = await server.json<any>(['ws', 'create', name, '--provider', 'lxc', '--no-wait']);
    const wsId = accepted.workspace.id as string;
    const [container] = await waitFor(
      `the LXC container of ${name}`,
      async () => {
        const found = await lxcContainersOf(wsId);
        return found.length > 0 ? found : null;
      },
      120_000,
      300,
    );
    const r = await server.cli(['op', 'cancel', accepted.operation.id]);
    expect(r.code, r.stderr).toBe(0);
    expect((await operation(accepted.operation.id)).error.code).toBe('CANCELLED');
    expect(await workspaceNames()).not.toContain(name);
    expect(await lxcContainersOf(wsId)).toEqual([]);
    await expect(stat(join(LXC_PATH, container))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses to cancel what is not a running create or build, and what does not exist', async () => {
    const missing = await server.cli(['op', 'cancel', '00000000-0000-0000-0000-000000000000']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('NOT_FOUND');
  });
});
