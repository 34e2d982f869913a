/**
 * berth-in reaches every Docker workspace: not at create (which must stay quick) but before
 * the first command that runs it; the agent leaves an up-to-date copy alone, and replaces a
 * different one at the first use after the workspace is restarted.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, TestServer, uniqueName } from './harness.js';

let server: TestServer;
const name = uniqueName('berthin');
const expected = readFileSync(join(ROOT, 'dist/native/berth-in.version'), 'utf8').trim();

beforeAll(async () => {
  server = await TestServer.start({ localAgent: true });
  await server.waitNodeOnline();
  const build = await server.cli(['image', 'build', 'base', '--from', 'busybox']);
  expect(build.code, build.stderr).toBe(0);
  const create = await server.cli(['ws', 'create', name, '--image', 'base']);
  expect(create.code, create.stderr).toBe(0);
});

afterAll(async () => {
  await server.cli(['ws', 'rm', name]).catch(() => {});
  await server.destroy();
});

async function inWorkspace(...cmd: string[]): Promise<string> {
  const r = await server.cli(['ws', 'exec', name, '--', ...cmd]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

describe('berth-in in workspaces', () => {
  it('is copied into a new Docker workspace at /.berth/bin/berth-in by the first command that runs it', async () => {
    expect(expected).toMatch(/^berth-in \d+\.\d+\.\d+\+[0-9a-f]{12}$/);
    // The create did not copy it: nothing has needed it yet.
    expect(await inWorkspace('sh', '-c', 'test -e /.berth && echo there || echo absent')).toBe('absent');
    expect(await inWorkspace('/.berth/bin/berth-in', 'version')).toBe(expected);
    expect(await inWorkspace('stat', '-c', '%a', '/.berth/bin/berth-in')).toBe('755');
    // Nothing of the copy is left beside it.
    expect(await inWorkspace('ls', '/.berth/bin')).toBe('berth-in');
  });

  it('leaves the same version alone on restart, and replaces a different one', async () => {
    const inode = await inWorkspace('stat', '-c', '%i', '/.berth/bin/berth-in');
    let r = await server.cli(['ws', 'restart', name]);
    expect(r.code, r.stderr).toBe(0);
    expect(await inWorkspace('stat', '-c', '%i', '/.berth/bin/berth-in')).toBe(inode);

    await inWorkspace('sh', '-c', 'printf "#!/bin/sh\\necho berth-in 0.0.0+old\\n" > /.berth/bin/berth-in');
    expect(await inWorkspace('/.berth/bin/berth-in', 'version')).toBe('berth-in 0.0.0+old');
    r = await server.cli(['ws', 'restart', name]);
    expect(r.code, r.stderr).toBe(0);
    expect(await inWorkspace('/.berth/bin/berth-in', 'version')).toBe(expected);
  });

  it('is put back at the first use after a start, once it was removed', async () => {
    await inWorkspace('rm', '-rf', '/.berth');
    let r = await server.cli(['ws', 'stop', name]);
    expect(r.code, r.stderr).toBe(0);
    r = await server.cli(['ws', 'start', name]);
    expect(r.code, r.stderr).toBe(0);
    expect(await inWorkspace('/.berth/bin/berth-in', 'version')).toBe(expected);
  });

  it('runs a supervisor that outlives the exec that started it, once per workspace', async () => {
    const config = {
      version: 1,
      user: null,
      env: { GREETING: 'hello' },
      services: [
        {
          name: 'greeter',
          argv: ['/bin/sh', '-c', 'echo "$GREETING from greeter"; exec sleep 1000'],
          env: {},
          workdir: null,
          dependsOn: [],
          healthcheck: null,
          restart: { policy: 'always', maxRetries: null },
          ports: [],
        },
      ],
      startWaves: [['greeter']],
    };
    await inWorkspace('sh', '-c', 'printf %s "$1" > /.berth/services.json', 'sh', JSON.stringify(config));
    // No supervisor yet: ctl says so with exit 3.
    const none = await server.cli(['ws', 'exec', name, '--', '/.berth/bin/berth-in', 'ctl', 'status']);
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('no-supervisor');
    await inWorkspace('/.berth/bin/berth-in', 'supervise', '--daemon');
    // The exec that started it has ended; the supervisor and its service still run.
    const state = JSON.parse(await inWorkspace('/.berth/bin/berth-in', 'ctl', 'status'));
    expect(state.services).toHaveLength(1);
    expect(state.services[0]).toMatchObject({ name: 'greeter', state: 'running' });
    await inWorkspace('/.berth/bin/berth-in', 'supervise', '--daemon');
    expect(JSON.parse(await inWorkspace('/.berth/bin/berth-in', 'ctl', 'status')).supervisorPid).toBe(state.supervisorPid);
    expect(await inWorkspace('/.berth/bin/berth-in', 'ctl', 'logs', 'greeter')).toBe('hello from greeter');
    await inWorkspace('/.berth/bin/berth-in', 'ctl', 'shutdown');
    expect((await server.cli(['ws', 'exec', name, '--', '/.berth/bin/berth-in', 'ctl', 'status'])).code).toBe(3);
  });
});
