/**
 * Provider plugins through the CLI: a real `berth agent --plugin` process loads the example
 * chroot plugin, a plugin that throws on import and one written for another plugin API; the
 * agent stays up, `node show` and `node ls` list the chroot provider usable and the broken ones
 * unusable with their reasons, and a workspace runs on the plugin's provider end to end.
 * Needs what test/providers/chroot-plugin.test.ts needs (root, busybox-static, cgroup v1).
 */
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Proc, startAgent, TestServer, uniqueName, waitFor } from './harness.js';

let server: TestServer;
let agent: { proc: Proc; stateDir: string };
const NODE = 'plugged';
const ws = uniqueName('chroot');

beforeAll(async () => {
  server = await TestServer.start({ heartbeatMs: 500 });
  agent = await startAgent(server, {
    name: NODE,
    extraArgs: [
      '--plugin',
      'examples/chroot-provider',
      '--plugin',
      'test/e2e/fixtures/plugins/throws-on-load.mjs',
      '--plugin',
      './test/e2e/fixtures/plugins/future-api.mjs',
    ],
  });
  await server.waitNodeOnline(NODE);
});

afterAll(async () => {
  await server?.cli(['ws', 'rm', ws]);
  await agent?.proc.stop();
  await server?.destroy();
  if (agent) await rm(agent.stateDir, { recursive: true, force: true });
});

/** The node's providers once the chroot plugin's probe has been reported. */
async function providers(): Promise<any[]> {
  return waitFor('the chroot provider in node show', async () => {
    const node = await server.json<any>(['node', 'show', NODE]);
    const list: any[] = node.providers ?? node.node?.providers;
    return list?.some((p) => p.kind === 'chroot') ? list : null;
  });
}

describe('provider plugins', () => {
  it('lists the plugin provider usable and the broken plugins unusable with their reasons', async () => {
    const list = await providers();
    expect(list.find((p) => p.kind === 'chroot')).toMatchObject({ usable: true, details: { plugin: 'examples/chroot-provider', pluginApi: '1' } });
    expect(list.find((p) => p.kind === 'throws-on-load')).toMatchObject({
      usable: false,
      reason: expect.stringContaining('failed to load: this plugin is broken on purpose'),
    });
    expect(list.find((p) => p.kind === 'future')).toMatchObject({
      usable: false,
      reason: expect.stringContaining('written for plugin API 999 and this agent speaks plugin API 1'),
    });
    // The built-ins are there as before.
    expect(list.map((p) => p.kind)).toEqual(expect.arrayContaining(['docker', 'lxc', 'qemu']));
    const human = await server.cli(['node', 'show', NODE]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('chroot');
    expect(human.stdout).toContain('this plugin is broken on purpose');
    const ls = await server.cli(['node', 'ls']);
    expect(ls.stdout).toMatch(/chroot ✓/);
    // The agent is still running.
    expect(agent.proc.child.exitCode).toBeNull();
  });

  it('creates a workspace on the plugin provider, execs in it and removes it', async () => {
    await providers();
    const created = await server.cli(['ws', 'create', ws, '--provider', 'chroot', '--image', 'busybox', '--node', NODE, '--cpus', '1', '--memory', '256m']);
    expect(created.code, created.stderr + created.stdout).toBe(0);
    const shown = await server.json<any>(['ws', 'show', ws]);
    const w = shown.workspace ?? shown;
    expect(w).toMatchObject({ provider: 'chroot', status: 'running' });
    const r = await server.cli([
      'ws',
      'exec',
      ws,
      '--',
      'sh',
      '-c',
      'echo "in $(cat /etc/hostname 2>/dev/null || hostname) as $(id -u)"; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; exit 4',
    ]);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/as 0\n268435456\n$/);
    const listed = await server.json<any>(['ws', 'ls', '--provider', 'chroot']);
    expect(listed.workspaces.map((x: any) => x.name)).toEqual([ws]);
    expect((await server.json<any>(['ws', 'ls', '--provider', 'docker'])).workspaces.map((x: any) => x.name)).not.toContain(ws);

    // Files in the home survive stop and start, and restart; a stopped workspace refuses exec.
    expect((await server.cli(['ws', 'exec', ws, '--', 'sh', '-c', 'echo kept > /root/marker'])).code).toBe(0);
    const stop = await server.cli(['ws', 'stop', ws]);
    expect(stop.code, stop.stderr).toBe(0);
    expect((await server.json<any>(['ws', 'show', ws])).status ?? (await server.json<any>(['ws', 'show', ws])).workspace?.status).toBe('stopped');
    const refused = await server.cli(['ws', 'exec', ws, '--', 'true']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/not running/);
    for (const verb of ['start', 'restart']) {
      const r2 = await server.cli(['ws', verb, ws]);
      expect(r2.code, r2.stderr).toBe(0);
      expect(await server.cli(['ws', 'exec', ws, '--', 'cat', '/root/marker'])).toMatchObject({ code: 0, stdout: 'kept\n' });
    }

    const dir = join(agent.stateDir, 'providers', 'chroot', 'workspaces', w.id);
    expect(
      await access(dir).then(
        () => true,
        () => false,
      ),
    ).toBe(true);
    const removed = await server.cli(['ws', 'rm', ws]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(
      await access(`/sys/fs/cgroup/memory/berth-chroot-${w.id}`).then(
        () => true,
        () => false,
      ),
    ).toBe(false);
    expect(
      await access(dir).then(
        () => true,
        () => false,
      ),
    ).toBe(false);
  });

  it('refuses a provider kind no node has, and a malformed kind, with clear errors', async () => {
    const none = await server.cli(['ws', 'create', uniqueName('nope'), '--provider', 'future']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/future provider is not usable: .*plugin API 999/);
    const bad = await server.cli(['ws', 'create', uniqueName('bad'), '--provider', 'Not A Kind']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/provider kind is docker, lxc, qemu or a plugin kind/);
  });
});
