/**
 * Restart policies with capped backoff, ctl stop/start/restart, and stop's SIGTERM to the
 * whole process group followed by SIGKILL.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary, until } from './harness.js';
import { alive, service, sh, SupervisorRoot } from './supervisor-harness.js';

let root: SupervisorRoot;
beforeAll(() => requireBinary());
afterEach(async () => root?.destroy());

describe('berth-in supervise: restarts', () => {
  it('restarts a killed `always` service after 1 s, then 2 s when it dies again at once', async () => {
    root = await SupervisorRoot.make();
    await root.write([service('web', sh('exec sleep 100'), { restart: { policy: 'always', maxRetries: null } })]);
    root.daemon();
    const first = await root.waitFor('web', (s) => s.state === 'running', 'running');
    process.kill(first.pid!, 'SIGKILL');
    const killedAt = Date.now();
    const backoff = await root.waitFor('web', (s) => s.state === 'backoff', 'in backoff');
    expect(backoff.exitCode).toBe(137);
    expect(backoff.message).toBe('exited with code 137; restarting in 1s');
    const second = await root.waitFor('web', (s) => s.state === 'running' && s.pid !== first.pid, 'running again');
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(900);
    expect(second.restarts).toBe(1);
    process.kill(second.pid!, 'SIGKILL');
    expect((await root.waitFor('web', (s) => s.state === 'backoff', 'in backoff again')).message).toBe('exited with code 137; restarting in 2s');
    const third = await root.waitFor('web', (s) => s.state === 'running' && s.pid !== second.pid, 'running a third time', 5000);
    expect(third.restarts).toBe(2);
  });

  it('gives up an `on-failure:2` service after two restarts', async () => {
    root = await SupervisorRoot.make();
    await root.write([service('flaky', sh('echo try; exit 4'), { restart: { policy: 'on-failure', maxRetries: 2 } })]);
    root.daemon();
    const failed = await root.waitFor('flaky', (s) => s.state === 'failed', 'failed', 8000);
    expect(failed).toMatchObject({ restarts: 2, exitCode: 4, pid: null, message: 'exited with code 4; gave up after 2 restarts' });
    const logs = root.run(['ctl', 'logs', 'flaky']);
    expect(logs.stdout).toBe('try\ntry\ntry\n');
  });

  it('leaves `no` and `on-failure` services that exit 0 completed, and `no` that fails failed', async () => {
    root = await SupervisorRoot.make();
    await root.write([
      service('once', sh('exit 0')),
      service('retry-ok', sh('exit 0'), { restart: { policy: 'on-failure', maxRetries: null } }),
      service('broken', sh('exit 5')),
      service('missing', ['/no/such/program']),
    ]);
    root.daemon();
    expect(await root.waitFor('once', (s) => s.state === 'completed', 'completed')).toMatchObject({ exitCode: 0, restarts: 0 });
    expect(await root.waitFor('retry-ok', (s) => s.state === 'completed', 'completed')).toMatchObject({ exitCode: 0, restarts: 0 });
    expect(await root.waitFor('broken', (s) => s.state === 'failed', 'failed')).toMatchObject({ exitCode: 5, restarts: 0 });
    const missing = await root.waitFor('missing', (s) => s.state === 'failed', 'failed');
    expect(missing.exitCode).toBe(127);
    expect(missing.message).toContain('could not start');
    expect(root.run(['ctl', 'logs', 'missing']).stdout).toContain('berth-in: could not start');
  });

  it('ctl stop ends the whole process group and waits; ctl start brings it back', async () => {
    root = await SupervisorRoot.make();
    const d = root.dir;
    await root.write([service('tree', sh(`sleep 100 & echo $! > ${d}/child.pid; wait`), { restart: { policy: 'always', maxRetries: null } })]);
    root.daemon();
    const running = await root.waitFor('tree', (s) => s.state === 'running', 'running');
    const child = Number(await until('child pid', async () => (await root.file('child.pid')).trim()));
    expect(alive(child)).toBe(true);
    const stop = root.run(['ctl', 'stop', 'tree']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(root.svc('tree')).toMatchObject({ state: 'stopped', pid: null });
    expect(alive(running.pid!)).toBe(false);
    await until('the background child is gone too', () => !alive(child));
    // Stopped by ctl: the `always` policy does not bring it back.
    await new Promise((r) => setTimeout(r, 1300));
    expect(root.svc('tree').state).toBe('stopped');
    const start = root.run(['ctl', 'start', 'tree']);
    expect(start.code, start.stderr).toBe(0);
    expect(root.svc('tree')).toMatchObject({ state: 'running', restarts: 1 });
  });

  it('sends SIGKILL when SIGTERM is ignored for the stop grace', async () => {
    root = await SupervisorRoot.make({ BERTH_IN_STOP_GRACE_MS: '700' });
    await root.write([service('stubborn', sh("trap '' TERM; while :; do sleep 0.1; done"))]);
    root.daemon();
    await root.waitFor('stubborn', (s) => s.state === 'running', 'running');
    await new Promise((r) => setTimeout(r, 200));
    const t = Date.now();
    const stop = await root.runAsync(['ctl', 'stop', 'stubborn']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(Date.now() - t).toBeGreaterThanOrEqual(650);
    expect(root.svc('stubborn')).toMatchObject({ state: 'stopped', exitCode: 137 });
  });

  it('ctl restart replaces the process and answers once the new one runs', async () => {
    root = await SupervisorRoot.make();
    await root.write([service('app', sh('exec sleep 100'))]);
    root.daemon();
    const before = await root.waitFor('app', (s) => s.state === 'running', 'running');
    const r = root.run(['ctl', 'restart', 'app']);
    expect(r.code, r.stderr).toBe(0);
    const after = root.svc('app');
    expect(after.state).toBe('running');
    expect(after.pid).not.toBe(before.pid);
    expect(alive(before.pid!)).toBe(false);
  });
});
