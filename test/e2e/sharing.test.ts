/**
 * Teams and sharing through the CLI and the real OpenSSH client: bob reaches alice's shared
 * workspace with his own key and token, the workspace sees BERTH_USER=bob, he cannot delete or
 * re-share it; when alice unshares (and when a short share expires) his open `ssh` session and
 * his `ssh -L` forward are closed within 5 s, and the audit log says so. A team member sees the
 * team's workspaces and nobody else's, and a team's quota refuses a create naming the quota and
 * its current use.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayGetSchema } from '../../src/api/index.js';
import { BIN, freePort, type Gateway, runCli, runProgram, TestServer, uniqueName, waitFor } from './harness.js';

let server: TestServer;
let gw: Gateway;
let scratch: string;

/** A person on their own laptop: their HOME, CLI login and berth SSH key. */
interface Person {
  name: string;
  home: string;
  env: Record<string, string>;
  key: string;
}
const people: Record<string, Person> = {};
const ws = uniqueName('shared');
// Names are unique per owner: guests name alice's workspace OWNER/NAME, OWNER.NAME over SSH.
const theirs = `alice/${ws}`;
const theirsSsh = `alice.${ws}`;

/** Runs the CLI as `p` (their own login, no admin token). */
const as = (p: Person, args: string[]) => runCli(args, { env: p.env });

async function register(name: string): Promise<Person> {
  const inv = await server.json<{ connect: string }>(['user', 'invite', `${name}@example.com`]);
  const home = await mkdtemp(join(scratch, `${name}-`));
  const env = { HOME: home, BERTH_CONFIG: join(home, 'berth.json') };
  const r = await runCli(['register', '--invite', inv.connect, '--name', name], { env });
  expect(r.code, r.stderr).toBe(0);
  await writeFile(join(home, 'known_hosts'), `[${gw.host}]:${gw.port} ${gw.hostKey}\n`);
  return { name, home, env, key: join(home, '.ssh', 'berth_ed25519') };
}

function sshArgs(p: Person): string[] {
  return [
    '-F',
    '/dev/null',
    '-i',
    p.key,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    `UserKnownHostsFile=${join(p.home, 'known_hosts')}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-p',
    String(gw.port),
  ];
}
const ssh = (p: Person, command: string) => runProgram('ssh', [...sshArgs(p), `${p.name === 'alice' ? ws : theirsSsh}@${gw.host}`, command]);

/** A long-lived ssh of `p`; resolves once its output matches `ready`. */
function sshUntil(p: Person, args: string[], ready: RegExp): Promise<{ child: ChildProcess; exited: Promise<number>; output: () => string }> {
  const child = spawn('ssh', [...sshArgs(p), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number>((r) => child.once('exit', (code) => r(code ?? -1)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ssh ${args.join(' ')} never printed ${ready}: ${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d;
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve({ child, exited, output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`ssh ${args.join(' ')} exited before ${ready}: ${out}`));
    });
  });
}

/** bob's open shell and his -L forward to the workspace's httpd, both working. */
async function bobJoins(): Promise<{ shell: Awaited<ReturnType<typeof sshUntil>>; forward: Awaited<ReturnType<typeof sshUntil>> }> {
  const bob = people.bob!;
  const shell = await sshUntil(bob, [`${theirsSsh}@${gw.host}`, 'echo "in as $BERTH_USER"; sleep 600'], /in as bob/);
  const local = await freePort();
  const forward = await sshUntil(
    bob,
    ['-v', '-N', '-L', `127.0.0.1:${local}:127.0.0.1:8080`, `${theirsSsh}@${gw.host}`],
    /Local forwarding listening|Entering interactive session|pledge: network/,
  );
  const page = await waitFor(
    'the forward to answer',
    async () =>
      (await fetch(`http://127.0.0.1:${local}/`).then(
        (r) => r.status,
        () => 0,
      )) || null,
    20_000,
  );
  expect(page).toBeGreaterThan(0);
  return { shell, forward };
}

/** Waits for both to end and returns how long that took from `since`. */
async function bothEnd(j: Awaited<ReturnType<typeof bobJoins>>, since: number): Promise<number> {
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000));
  for (const p of [j.shell, j.forward]) {
    const code = await Promise.race([p.exited, timeout]);
    if (code === 'timeout') p.child.kill('SIGKILL');
    expect(code, p.output()).not.toBe('timeout');
  }
  return Date.now() - since;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'berth-e2e-share-'));
  server = await TestServer.start({ localAgent: true });
  await server.waitNodeOnline();
  const build = await server.cli(['image', 'build', 'base', '--from', 'busybox']);
  expect(build.code, build.stderr).toBe(0);
  const res = await fetch(`${server.url}/api/v1/gateway`, { headers: { authorization: `Bearer ${server.token}` } });
  gw = gatewayGetSchema.parse(await res.json()).ssh!;
  for (const name of ['alice', 'bob', 'carol']) people[name] = await register(name);
  const made = await as(people.alice!, ['ws', 'create', ws]);
  expect(made.code, made.stderr).toBe(0);
  // A web server in the workspace for bob's -L forward (busybox httpd daemonizes).
  const httpd = await as(people.alice!, [
    'ws',
    'exec',
    ws,
    '--',
    'sh',
    '-c',
    'mkdir -p /tmp/www && echo hello > /tmp/www/index.html && busybox httpd -p 127.0.0.1:8080 -h /tmp/www',
  ]);
  expect(httpd.code, httpd.stderr).toBe(0);
});

afterAll(async () => {
  await server?.destroy();
  await rm(scratch, { recursive: true, force: true });
});

describe('sharing a workspace', () => {
  it('lets bob in with his own key only once shared, under his own name, without delete or re-share', async () => {
    const { alice, bob } = people as Record<string, Person>;
    const before = await ssh(bob, 'true');
    expect(before.code).toBe(255);
    expect(before.stderr).toMatch(/No workspace named/);
    expect((await as(bob, ['ws', 'show', theirs])).code).toBe(3);

    const shared = await as(alice, ['ws', 'share', ws, '--user', 'bob:use', '--json']);
    expect(shared.code, shared.stderr).toBe(0);
    expect(JSON.parse(shared.stdout)).toMatchObject({ workspace: ws, user: 'bob', role: 'use', expiresAt: null });

    const who = await ssh(bob, 'echo "$BERTH_USER"');
    expect(who.code, who.stderr).toBe(0);
    expect(who.stdout.trim()).toBe('bob');
    const viaExec = await as(bob, ['ws', 'exec', theirs, '--', 'sh', '-c', 'echo "$BERTH_USER"']);
    expect(viaExec.stdout.trim(), viaExec.stderr).toBe('bob');

    const listed = JSON.parse((await as(bob, ['ws', 'ls', '--shared', '--json'])).stdout);
    expect(listed.workspaces.map((w: { name: string; owner: string }) => [w.name, w.owner])).toEqual([[ws, 'alice']]);

    const rm = await as(bob, ['ws', 'rm', theirs]);
    expect(rm.code).toBe(4);
    expect(rm.stderr).toMatch(/only the owner deletes a workspace/);
    const reshare = await as(bob, ['ws', 'share', theirs, '--user', 'carol']);
    expect(reshare.code).toBe(4);
    expect(reshare.stderr).toMatch(/you have use access, and sharing needs admin access/);
    const shares = JSON.parse((await as(alice, ['ws', 'shares', ws, '--json'])).stdout);
    expect(shares.shares.map((s: { user: string }) => s.user)).toEqual(['bob']);
  });

  it("closes bob's open ssh session and -L forward within 5 s of the unshare, audited", async () => {
    const { alice, bob } = people as Record<string, Person>;
    const joined = await bobJoins();
    // His `ws exec` (exec WebSocket) and his preview of the workspace's httpd, with his own token and cookie.
    const exec = spawn(BIN, ['ws', 'exec', theirs, '--', 'sh', '-c', 'echo started; sleep 600'], {
      env: { ...process.env, ...bob.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let execOut = '';
    exec.stdout.on('data', (d) => (execOut += d));
    exec.stderr.on('data', (d) => (execOut += d));
    const execExit = new Promise<number>((r) => exec.once('exit', (c) => r(c ?? -1)));
    await waitFor("bob's ws exec to start", async () => execOut.includes('started'), 30_000);
    const preview = JSON.parse((await as(bob, ['preview', theirs, '8080', '--json'])).stdout) as { path: string };
    const traded = await fetch(server.url + preview.path, { redirect: 'manual' });
    expect(traded.status).toBe(302);
    const cookie = traded.headers.get('set-cookie')!.split(';')[0]!;
    const page = () => fetch(`${server.url}/w/${theirsSsh}/p/8080/`, { headers: { cookie } }).then((r) => r.status);
    expect(await page()).toBe(200);
    const at = Date.now();
    const un = await as(alice, ['ws', 'unshare', ws, '--user', 'bob', '--json']);
    expect(un.code, un.stderr).toBe(0);
    expect(JSON.parse(un.stdout).endedSessions).toBeGreaterThanOrEqual(3);
    expect(await bothEnd(joined, at)).toBeLessThan(5000);
    expect(joined.shell.output()).toMatch(/access to workspace .* was revoked/);
    expect(await Promise.race([execExit, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000))]), execOut).toBe(4);
    expect(execOut).toMatch(/PERMISSION_DENIED: Your access to workspace .* was revoked/);
    expect(await waitFor('the preview to refuse bob', async () => ((await page()) === 404 ? Date.now() - at : null), 5000)).toBeLessThan(5000);
    const after = await ssh(people.bob!, 'true');
    expect(after.code).toBe(255);
    const audit = JSON.parse((await server.cli(['audit', 'ls', '--json'])).stdout).entries as Array<{ action: string; actor: string; detail: string | null }>;
    const revoked = audit.filter((e) => e.action === 'workspace.access.revoked' && e.actor === 'bob');
    expect(revoked.length).toBeGreaterThanOrEqual(3);
    expect(revoked.map((e) => e.detail!.split(' session ended:')[0]).sort()).toEqual(expect.arrayContaining(['exec', 'ssh', 'ssh']));
    // Every join is recorded with who: the ssh session and the ws exec.
    expect(audit.some((e) => e.action === 'ssh.session.start' && e.actor === 'bob')).toBe(true);
    expect(audit.some((e) => e.action === 'workspace.join' && e.actor === 'bob' && e.detail?.startsWith('exec:'))).toBe(true);
    expect(audit.some((e) => e.action === 'previewPost' && e.actor === 'bob')).toBe(true);
  });

  it('ends an expired share the same way', async () => {
    const { alice } = people as Record<string, Person>;
    const shared = await as(alice, ['ws', 'share', ws, '--user', 'bob', '--expires', '10s', '--json']);
    expect(shared.code, shared.stderr).toBe(0);
    const expiresAt = Date.parse(JSON.parse(shared.stdout).expiresAt);
    const joined = await bobJoins();
    expect(Date.now()).toBeLessThan(expiresAt);
    await bothEnd(joined, Date.now());
    const late = Date.now() - expiresAt;
    expect(late).toBeLessThan(5000);
    expect(joined.shell.output()).toMatch(/was revoked/);
    expect((await ssh(people.bob!, 'true')).code).toBe(255);
    const listed = JSON.parse((await as(alice, ['ws', 'shares', ws, '--json'])).stdout);
    expect(listed.shares[0]).toMatchObject({ user: 'bob', expired: true });
  });

  it("ends a disabled user's sessions within 5 s, refuses his token and key, and lets him back once enabled", async () => {
    const { alice, bob } = people as Record<string, Person>;
    expect((await as(alice, ['ws', 'share', ws, '--user', 'bob'])).code).toBe(0);
    const joined = await bobJoins();
    const at = Date.now();
    const disabled = await server.cli(['user', 'disable', 'bob', '--json']);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(JSON.parse(disabled.stdout)).toMatchObject({ user: { name: 'bob', disabled: true } });
    expect(await bothEnd(joined, at)).toBeLessThan(5000);
    expect(joined.shell.output()).toMatch(/was revoked/);
    // Every way in is shut: his API token and his SSH key.
    expect((await as(bob, ['ws', 'ls'])).code).not.toBe(0);
    expect((await ssh(bob, 'true')).code).toBe(255);
    // A member cannot do this; enabling him again restores everything, the share included.
    expect((await as(alice, ['user', 'enable', 'bob'])).code).toBe(4);
    expect((await server.cli(['user', 'enable', 'bob'])).code).toBe(0);
    expect((await ssh(bob, 'echo "$BERTH_USER"')).stdout.trim()).toBe('bob');
    const audit = JSON.parse((await server.cli(['audit', 'ls', '--json', '--limit', '200'])).stdout) as { entries: Array<{ action: string; target: string }> };
    expect(audit.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['workspace.access.revoked']));
    // Leave bob as the tests after this one expect him: with no live share of alice's.
    expect((await as(alice, ['ws', 'unshare', ws, '--user', 'bob'])).code).toBe(0);
  });
});

describe('teams', () => {
  it("shows a member the team's workspaces and not others', and refuses a create past a quota naming it", async () => {
    const { bob, carol } = people as Record<string, Person>;
    const team = uniqueName('web');
    expect((await server.cli(['team', 'create', team, '--max-workspaces', '1', '--max-cpus', '1'])).code).toBe(0);
    for (const who of ['bob', 'carol']) expect((await server.cli(['team', 'add', team, who])).code).toBe(0);
    const tws = uniqueName('teamws');
    const made = await as(carol, ['ws', 'create', tws, '--team', team, '--cpus', '1']);
    expect(made.code, made.stderr).toBe(0);

    const seen = JSON.parse((await as(bob, ['ws', 'ls', '--json'])).stdout).workspaces.map((w: { name: string; team: string | null }) => [w.name, w.team]);
    expect(seen).toEqual([[tws, team]]);
    const inTeam = await runProgram('ssh', [...sshArgs(bob), `carol.${tws}@${gw.host}`, 'echo "$BERTH_USER"']);
    expect(inTeam.stdout.trim(), inTeam.stderr).toBe('bob');
    // A member uses but does not delete.
    expect((await as(bob, ['ws', 'rm', `carol/${tws}`])).code).toBe(4);

    const over = await as(carol, ['ws', 'create', uniqueName('two'), '--team', team, '--cpus', '1']);
    expect(over.code).toBe(5);
    expect(over.stderr).toMatch(new RegExp(`Team ${team}'s workspace quota is 1 and it already has 1`));
    const cpu = uniqueName('cpus');
    expect((await server.cli(['team', 'create', cpu, '--max-cpus', '1'])).code).toBe(0);
    expect((await server.cli(['team', 'add', cpu, 'carol'])).code).toBe(0);
    const tooBig = await as(carol, ['ws', 'create', uniqueName('big'), '--team', cpu, '--cpus', '2', '--json']);
    expect(tooBig.code).toBe(5);
    expect(tooBig.stderr).toMatch(new RegExp(`Team ${cpu}'s CPU quota is 1; its workspaces use 0 and this one asks for 2`));

    // Leaving the team ends access at once.
    const shell = await sshUntil(bob, [`carol.${tws}@${gw.host}`, 'echo "in as $BERTH_USER"; sleep 600'], /in as bob/);
    const at = Date.now();
    expect((await server.cli(['team', 'remove', team, 'bob'])).code).toBe(0);
    const code = await Promise.race([shell.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
    expect(code, shell.output()).not.toBe('timeout');
    expect(Date.now() - at).toBeLessThan(5000);
    expect(JSON.parse((await as(bob, ['ws', 'ls', '--json'])).stdout).workspaces).toEqual([]);
    expect((await as(carol, ['ws', 'rm', tws])).code).toBe(0);
  });
});

describe('the sharing policy', () => {
  it('lets an admin restrict sharing to admins or turn it off, which ends live sessions resting on shares', async () => {
    const { alice, bob } = people as Record<string, Person>;
    expect((await as(alice, ['sharing-policy', 'set', 'off'])).code).toBe(4);
    const shared = await as(alice, ['ws', 'share', ws, '--user', 'bob']);
    expect(shared.code, shared.stderr).toBe(0);
    expect((await server.cli(['sharing-policy', 'set', 'admins'])).code).toBe(0);
    const refused = await as(alice, ['ws', 'share', ws, '--user', 'carol']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/only server admins may share on this server \(sharing policy: admins\)/);
    // Existing shares keep working under `admins`; `off` ends them, live sessions included.
    const shell = await sshUntil(bob, [`${theirsSsh}@${gw.host}`, 'echo "in as $BERTH_USER"; sleep 600'], /in as bob/);
    const at = Date.now();
    expect((await server.cli(['sharing-policy', 'set', 'off'])).code).toBe(0);
    const code = await Promise.race([shell.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
    expect(code, shell.output()).not.toBe('timeout');
    expect(Date.now() - at).toBeLessThan(5000);
    expect(JSON.parse((await as(bob, ['sharing-policy', '--json'])).stdout)).toEqual({ policy: 'off' });
    expect((await server.cli(['sharing-policy', 'set', 'everyone'])).code).toBe(0);
    expect((await ssh(bob, 'echo "$BERTH_USER"')).stdout.trim()).toBe('bob');
  });
});
