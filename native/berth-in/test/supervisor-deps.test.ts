/**
 * Start order follows depends_on with compose's conditions (started, healthy, completed); a
 * dependency that does not complete blocks its dependents; a dependency's restart restarts the
 * dependents that ask for it.
 */
import { spawn } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, requireBinary, until } from './harness.js';
import { service, sh, SupervisorRoot, type StateView } from './supervisor-harness.js';

let root: SupervisorRoot;
beforeAll(() => requireBinary());
afterEach(async () => root?.destroy());

const fastHealth = (argv: string[]) => ({ probe: { kind: 'cmd' as const, argv }, intervalMs: 100, timeoutMs: 2000, retries: 3, startPeriodMs: 0, startIntervalMs: 50 });

describe('berth-in supervise: dependencies', () => {
  it('starts a service only once its dependencies are started, healthy and completed', async () => {
    root = await SupervisorRoot.make();
    const d = root.dir;
    await root.write([
      service('api', sh(`test -f ${d}/setup.done && test -f ${d}/db.ready && test -f ${d}/cache.started && echo ok > ${d}/api.ok; exec sleep 100`), {
        dependsOn: [
          { service: 'setup', condition: 'completed', restart: false },
          { service: 'db', condition: 'healthy', restart: false },
          { service: 'cache', condition: 'started', restart: false },
        ],
      }),
      service('setup', sh(`sleep 0.4; touch ${d}/setup.done`)),
      service('db', sh(`sleep 0.8; touch ${d}/db.ready; exec sleep 100`), { healthcheck: fastHealth(['test', '-f', `${d}/db.ready`]) }),
      service('cache', sh(`touch ${d}/cache.started; exec sleep 100`)),
    ]);
    // Every state change, from the first moment on.
    root.daemon();
    const watch = spawn(BIN, ['--root', d, 'ctl', 'watch']);
    const states: StateView[] = [];
    let buf = '';
    watch.stdout.on('data', (c) => {
      buf += c;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      states.push(...lines.map((l) => JSON.parse(l) as StateView));
    });
    const api = await root.waitFor('api', (s) => s.state === 'running', 'running');
    expect(await root.file('api.ok')).toBe('ok\n');
    expect(api.restarts).toBe(0);
    const now = root.status();
    expect(now.services.map((s) => [s.name, s.state])).toEqual([
      ['setup', 'completed'],
      ['db', 'healthy'],
      ['cache', 'running'],
      ['api', 'running'],
    ]);
    watch.kill();
    // What api waited for, in the order the conditions were met (the first watch line may
    // already show setup running, so only messages seen are checked, not their count).
    const apiMessages = [...new Set(states.map((s) => s.services.find((x) => x.name === 'api')!.message).filter(Boolean))];
    expect(apiMessages.length).toBeGreaterThan(0);
    expect(apiMessages.every((m) => /^waiting for (setup to complete|db to be healthy)$/.test(m!))).toBe(true);
    expect(apiMessages).toContain('waiting for db to be healthy');
    const dbStates = [...new Set(states.map((s) => s.services.find((x) => x.name === 'db')!.state))];
    expect(dbStates).toContain('starting');
    expect(dbStates.indexOf('starting')).toBeLessThan(dbStates.indexOf('healthy'));
  });

  it('blocks the dependents of a `completed` dependency that fails, and ctl start says so', async () => {
    root = await SupervisorRoot.make();
    await root.write([
      service('migrate', sh('echo migrating; exit 3')),
      service('api', sh('exec sleep 100'), { dependsOn: [{ service: 'migrate', condition: 'completed', restart: false }] }),
      service('worker', sh('exec sleep 100'), { dependsOn: [{ service: 'api', condition: 'started', restart: false }] }),
    ]);
    root.daemon();
    const api = await root.waitFor('api', (s) => s.state === 'blocked', 'blocked');
    expect(api.message).toBe('migrate did not complete successfully (exit code 3)');
    expect(api.pid).toBeNull();
    const migrate = root.svc('migrate');
    expect(migrate).toMatchObject({ state: 'failed', exitCode: 3 });
    expect((await root.waitFor('worker', (s) => s.state === 'blocked', 'blocked')).message).toBe('api is blocked');
    const start = root.run(['ctl', 'start', 'api']);
    expect(start.code).toBe(1);
    expect(start.stderr).toMatch(/^berth-in: failed: api is blocked: migrate did not complete successfully \(exit code 3\)\n$/);
  });

  it('restarts dependents that set restart: true when their dependency restarts, and only those', async () => {
    root = await SupervisorRoot.make();
    await root.write([
      service('db', sh('exec sleep 100')),
      service('follows', sh('exec sleep 100'), { dependsOn: [{ service: 'db', condition: 'started', restart: true }] }),
      service('stays', sh('exec sleep 100'), { dependsOn: [{ service: 'db', condition: 'started', restart: false }] }),
    ]);
    root.daemon();
    const f0 = await root.waitFor('follows', (s) => s.state === 'running', 'running');
    const s0 = await root.waitFor('stays', (s) => s.state === 'running', 'running');
    const db0 = root.svc('db');
    const r = root.run(['ctl', 'restart', 'db']);
    expect(r.code, r.stderr).toBe(0);
    const db1 = root.svc('db');
    expect(db1.pid).not.toBe(db0.pid);
    expect(db1.restarts).toBe(1);
    const f1 = await root.waitFor('follows', (s) => s.state === 'running' && s.pid !== f0.pid, 'running again with a new pid');
    expect(f1.restarts).toBe(1);
    expect(root.svc('stays')).toMatchObject({ state: 'running', pid: s0.pid, restarts: 0 });
    await until('nothing else restarts', async () => (await new Promise((r) => setTimeout(r, 300)), true));
    expect(root.svc('follows').pid).toBe(f1.pid);
  });
});
