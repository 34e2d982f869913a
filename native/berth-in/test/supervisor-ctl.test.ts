/**
 * The control side: exit statuses (3 no supervisor, 4 unknown service, 2 usage), one daemon
 * per root however often it is started, watch, reload, and the supervisor's own session.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, requireBinary, until } from './harness.js';
import { alive, service, sh, SupervisorRoot, type StateView } from './supervisor-harness.js';

let root: SupervisorRoot;
beforeAll(() => requireBinary());
afterEach(async () => root?.destroy());

/** Processes whose command line is `berth-in --root DIR supervise ...`. */
function supervisorsOf(dir: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv.includes(dir) && argv.includes('supervise')) out.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe('berth-in ctl', () => {
  it('exits 3 without a supervisor, 4 for an unknown service, 2 for bad usage', async () => {
    root = await SupervisorRoot.make();
    for (const args of [['status'], ['watch'], ['logs', 'x'], ['start', 'x'], ['stop', 'x'], ['reload'], ['shutdown']]) {
      const r = root.run(['ctl', ...args]);
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr).toMatch(/^berth-in: no-supervisor: no supervisor is running for .*\n$/);
    }
    await root.write([service('only', sh('exec sleep 100'))]);
    root.daemon();
    for (const args of [['start', 'nope'], ['stop', 'nope'], ['restart', 'nope'], ['logs', 'nope']]) {
      const r = root.run(['ctl', ...args]);
      expect(r.code, args.join(' ')).toBe(4);
      expect(r.stderr).toMatch(/^berth-in: unknown-service: .*"nope".*\n$/);
    }
    for (const args of [['ctl'], ['ctl', 'start'], ['ctl', 'frobnicate'], ['ctl', 'logs', 'only', '--tail', '-1'], ['supervise', '--bogus'], ['nothing']]) {
      const r = root.run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^berth-in: usage: [^\n]+\n$/);
    }
  });

  it('runs one supervisor per root however many times --daemon is asked, in its own session', async () => {
    root = await SupervisorRoot.make();
    await root.write([service('svc', sh('exec sleep 100'))]);
    const all = await Promise.all([1, 2, 3].map(() => root.runAsync(['supervise', '--daemon'])));
    for (const r of all) expect(r.code, r.stderr).toBe(0);
    const again = root.run(['supervise', '--daemon']);
    expect(again.code, again.stderr).toBe(0);
    await until('the losers have exited', () => supervisorsOf(root.dir).length === 1);
    const [pid] = supervisorsOf(root.dir);
    expect(await root.supervisorPid()).toBe(pid);
    expect(root.status().supervisorPid).toBe(pid);
    // setsid: it leads its own session, so the exec session that started it can end.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    expect(Number(fields[3])).toBe(pid);
    // A foreground supervise next to it refuses.
    const fg = root.run(['supervise']);
    expect(fg.code).toBe(1);
    expect(fg.stderr).toContain('already running');
    // Shutdown stops the services and the supervisor and cleans its run files.
    const svc = await root.waitFor('svc', (s) => s.state === 'running', 'running');
    const shut = root.run(['ctl', 'shutdown']);
    expect(shut.code, shut.stderr).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(alive(svc.pid!)).toBe(false);
    expect(root.run(['ctl', 'status']).code).toBe(3);
    // And it starts again afterwards.
    root.daemon();
    expect(root.status().supervisorPid).not.toBe(pid);
  });

  it('watch prints the state at once and a line per change, and exits 0 when the supervisor does', async () => {
    root = await SupervisorRoot.make();
    await root.write([service('a', sh('exec sleep 100'))]);
    root.daemon();
    await root.waitFor('a', (s) => s.state === 'running', 'running');
    const watch = spawn(BIN, ['--root', root.dir, 'ctl', 'watch']);
    const lines: StateView[] = [];
    let buf = '';
    watch.stdout.on('data', (c) => {
      buf += c;
      const parts = buf.split('\n');
      buf = parts.pop()!;
      lines.push(...parts.map((l) => JSON.parse(l)));
    });
    const exited = new Promise<number | null>((r) => watch.once('exit', (c) => r(c)));
    await until('the first line', () => lines.length >= 1);
    expect(lines[0].services[0].state).toBe('running');
    expect((await root.runAsync(['ctl', 'stop', 'a'])).code).toBe(0);
    await until('a stopped line', () => lines.some((l) => l.services[0].state === 'stopped'));
    expect((await root.runAsync(['ctl', 'start', 'a'])).code).toBe(0);
    await until('a running line again', () => lines.at(-1)!.services[0].state === 'running');
    // No change, no line.
    const n = lines.length;
    await new Promise((r) => setTimeout(r, 400));
    expect(lines.length).toBe(n);
    expect((await root.runAsync(['ctl', 'shutdown'])).code).toBe(0);
    expect(await exited).toBe(0);
  });

  it('reload stops removed services, restarts changed ones, starts new ones and leaves the rest', async () => {
    root = await SupervisorRoot.make();
    await root.write([service('keep', sh('exec sleep 100')), service('change', sh('exec sleep 100')), service('drop', sh('exec sleep 100'))]);
    root.daemon();
    const before = root.status();
    for (const name of ['keep', 'change', 'drop']) await root.waitFor(name, (s) => s.state === 'running', 'running');
    const pids = Object.fromEntries(root.status().services.map((s) => [s.name, s.pid!]));
    await root.write([service('keep', sh('exec sleep 100')), service('change', sh('exec sleep 101')), service('add', sh('exec sleep 100'))]);
    const r = root.run(['ctl', 'reload']);
    expect(r.code, r.stderr).toBe(0);
    expect(alive(pids.drop)).toBe(false);
    expect(alive(pids.change)).toBe(false);
    const after = await until('change and add running', () => {
      const st = root.status();
      return st.services.every((s) => s.state === 'running') ? st : null;
    });
    expect(after.services.map((s) => s.name).sort()).toEqual(['add', 'change', 'keep']);
    expect(after.services.find((s) => s.name === 'keep')!.pid).toBe(pids.keep);
    expect(after.configVersion).not.toBe(before.configVersion);
    // A config that cannot run is refused and changes nothing.
    await root.write([service('a', sh('true'), { dependsOn: [{ service: 'ghost', condition: 'started', restart: false }] })]);
    const bad = root.run(['ctl', 'reload']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('depends on ghost, which is not defined');
    expect(root.status().configVersion).toBe(after.configVersion);
  });

  it('refuses to start on a services.json it cannot run, saying why', async () => {
    root = await SupervisorRoot.make();
    await root.write([service('a', sh('true'), { dependsOn: [{ service: 'b', condition: 'started', restart: false }] }), service('b', sh('true'), { dependsOn: [{ service: 'a', condition: 'started', restart: false }] })]);
    const r = root.run(['supervise', '--daemon']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cycle');
    expect(supervisorsOf(root.dir)).toEqual([]);
  });
});
