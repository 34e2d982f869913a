/**
 * Workspace names are unique per owner, end to end with the real server, Docker and OpenSSH:
 * alice and bob both create `api`; each sees and reaches their own as `api`; bob cannot see or
 * reach `alice/api` (NOT_FOUND, word for word like a missing name), and his tries are audited;
 * the admin sees both as OWNER/NAME and reaches alice's by `ws exec`, by real `ssh`, `scp` and
 * `ssh -L` through the gateway as `alice.api@host`, and by the `alice.api.berth` host `berth config-ssh`
 * writes; deleting alice's leaves bob's running.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayGetSchema } from '../../src/api/index.js';
import { docker, freePort, type Gateway, runCli, runProgram, TestServer, waitFor } from './harness.js';

let server: TestServer;
let gw: Gateway;

interface Person {
  name: string;
  home: string;
  env: Record<string, string>;
  key: string;
  knownHosts: string;
  cli: (args: string[]) => ReturnType<typeof runCli>;
}

/** A person on their own laptop: HOME, CLI config, berth key, the gateway's host key pinned. */
async function person(name: string, env: Record<string, string>, home: string): Promise<Person> {
  const knownHosts = join(home, 'known_hosts');
  await writeFile(knownHosts, `[${gw.host}]:${gw.port} ${gw.hostKey}\n`);
  return { name, home, env, key: join(home, '.ssh', 'berth_ed25519'), knownHosts, cli: (args) => runCli(args, { env }) };
}

/** A member registered with an invite (the CLI makes and registers their SSH key). */
async function member(name: string): Promise<Person> {
  const invite = await server.json<{ code: string }>(['user', 'invite', `${name}@example.com`]);
  const home = await mkdtemp(join(tmpdir(), `berth-e2e-${name}-`));
  const env = { HOME: home, BERTH_CONFIG: join(home, 'berth.json'), BERTH_SERVER: '', BERTH_TOKEN: '' };
  const r = await runCli(['register', server.url, '--invite', invite.code, '--name', name], { env });
  expect(r.code, r.stderr).toBe(0);
  return person(name, env, home);
}

/** OpenSSH options for the gateway: no user config, batch mode, the person's key, the pinned host key. */
function sshOpts(p: Person): string[] {
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
    `UserKnownHostsFile=${p.knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
  ];
}

/** Real OpenSSH through the gateway as `user@host`. */
function ssh(p: Person, user: string, command: string) {
  return runProgram('ssh', [...sshOpts(p), '-p', String(gw.port), `${user}@${gw.host}`, command]);
}

async function ok(p: Person, args: string[]): Promise<string> {
  const r = await p.cli(args);
  expect(r.code, `${p.name}: berth ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

let alice: Person;
let bob: Person;
let admin: Person;
const ids: Record<string, string> = {};

beforeAll(async () => {
  server = await TestServer.start({ localAgent: true });
  await server.waitNodeOnline();
  const built = await server.cli(['image', 'build', 'base', '--from', 'busybox']);
  expect(built.code, built.stderr).toBe(0);
  const res = await fetch(`${server.url}/api/v1/gateway`, { headers: { authorization: `Bearer ${server.token}` } });
  const ssh = gatewayGetSchema.parse(await res.json()).ssh;
  if (!ssh) throw new Error('The test server reports no SSH gateway; it should start one on a free port.');
  gw = ssh;
  const adminHome = await mkdtemp(join(tmpdir(), 'berth-e2e-admin-'));
  admin = await person('admin', server.env({ HOME: adminHome }), adminHome);
  await ok(admin, ['ssh-key', 'generate']);
  alice = await member('alice');
  bob = await member('bob');
}, 600_000);

afterAll(async () => {
  await server?.destroy();
});

describe('workspace names per owner', () => {
  it('lets alice and bob both create `api`, each seeing their own as `api`', async () => {
    for (const p of [alice, bob]) {
      const created = JSON.parse(await ok(p, ['ws', 'create', 'api', '--json']));
      expect(created.workspace).toMatchObject({ name: 'api', owner: p.name, ref: 'api', status: 'running' });
      ids[p.name] = created.workspace.id;
      const mine = JSON.parse(await ok(p, ['ws', 'ls', '--json'])).workspaces;
      expect(mine.map((w: any) => [w.ref, w.owner])).toEqual([['api', p.name]]);
      expect((await ok(p, ['ws', 'ls'])).split('\n')[1]).toMatch(/^api\s+running/);
    }
    expect(ids.alice).not.toBe(ids.bob);
    // Two containers on the one node, named apart by id.
    const names = await Promise.all(
      [ids.alice!, ids.bob!].map(async (id) => (await docker.listContainers({ all: true, filters: { label: [`berth.workspace=${id}`] } }))[0]?.Names[0]),
    );
    expect(names[0]).toMatch(/^\/berth-api-/);
    expect(names[1]).toMatch(/^\/berth-api-/);
    expect(names[0]).not.toBe(names[1]);
    // A second `api` of one's own is still refused.
    const again = await alice.cli(['ws', 'create', 'api']);
    expect(again.code).toBe(5);
    expect(again.stderr).toContain('ALREADY_EXISTS');
  });

  it("runs `ws exec api` in each one's own container", async () => {
    for (const p of [alice, bob]) await ok(p, ['ws', 'exec', 'api', '--', 'sh', '-c', `echo ${p.name} > /root/who`]);
    expect(await ok(alice, ['ws', 'exec', 'api', '--', 'cat', '/root/who'])).toBe('alice\n');
    expect(await ok(bob, ['ws', 'exec', 'api', '--', 'cat', '/root/who'])).toBe('bob\n');
    // Each one's own SSH user is the bare name.
    const r = await ssh(bob, 'api', 'cat /root/who');
    expect(r.stdout, r.stderr).toBe('bob\n');
  });

  it('hides alice/api from bob exactly like a missing workspace, and audits his tries', async () => {
    for (const [verb, extra] of [
      ['show', []],
      ['exec', ['--', 'true']],
      ['stop', []],
      ['rm', []],
    ] as const) {
      const hidden = await bob.cli(['ws', verb, 'alice/api', ...extra]);
      const missing = await bob.cli(['ws', verb, 'alice/nope', ...extra]);
      expect(hidden.code, hidden.stderr).toBe(3);
      expect(missing.code).toBe(3);
      expect(hidden.stderr.replace('alice/api', 'X')).toBe(missing.stderr.replace('alice/nope', 'X'));
    }
    // Over SSH too: as alice.api (and alice/api) his key reaches nothing, as a missing name does.
    for (const user of ['alice.api', 'alice/api']) {
      const r = await ssh(bob, user, 'cat /root/who');
      expect(r.code).toBe(255);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('No workspace named alice/api');
    }
    expect((await ssh(bob, 'alice.nope', 'true')).stderr).toContain('No workspace named alice/nope');
    // Alice's workspace is untouched, and bob's tries are on record against it.
    expect(await ok(alice, ['ws', 'exec', 'api', '--', 'cat', '/root/who'])).toBe('alice\n');
    const denied = JSON.parse(await ok(admin, ['audit', 'ls', '--user', 'bob', '--json'])).entries.filter((e: any) => e.outcome === 'denied');
    // The resolution's denials name only the workspace that exists (show, exec, stop, rm, two SSH users);
    // the gateway records each refused session against the name asked, as for any refusal.
    const access = denied.filter((e: any) => e.action === 'workspace.access');
    expect(access.length).toBeGreaterThanOrEqual(6);
    expect(new Set(access.map((e: any) => e.target))).toEqual(new Set(['workspace/alice/api']));
    expect(new Set(denied.filter((e: any) => e.action === 'ssh.session.start').map((e: any) => e.target))).toEqual(
      new Set(['workspace/alice/api', 'workspace/alice/nope']),
    );
  });

  it('shows the admin both as OWNER/NAME, reached by exec, ssh, scp, ssh -L and config-ssh', async () => {
    const all = JSON.parse(await ok(admin, ['ws', 'ls', '--json'])).workspaces;
    expect(all.map((w: any) => w.ref).sort()).toEqual(['alice/api', 'bob/api']);
    const table = await ok(admin, ['ws', 'ls']);
    expect(table).toMatch(/^alice\/api\s+running/m);
    expect(table).toMatch(/^bob\/api\s+running/m);
    expect(JSON.parse(await ok(admin, ['ws', 'ls', '--owner', 'bob', '--json'])).workspaces.map((w: any) => w.ref)).toEqual(['bob/api']);
    // A bare `api` is the admin's own, and the admin has none.
    expect((await admin.cli(['ws', 'show', 'api'])).code).toBe(3);

    expect(await ok(admin, ['ws', 'exec', 'alice/api', '--', 'cat', '/root/who'])).toBe('alice\n');
    expect(await ok(admin, ['ws', 'exec', 'bob/api', '--', 'cat', '/root/who'])).toBe('bob\n');
    const shown = JSON.parse(await ok(admin, ['ws', 'show', 'alice/api', '--json']));
    expect(shown).toMatchObject({ id: ids.alice, ref: 'alice/api' });
    expect(shown.links.vscode).toContain('ssh-remote+alice.api.berth');

    // Real OpenSSH through the gateway, as the SSH user alice.api.
    const viaSsh = await ssh(admin, 'alice.api', 'cat /root/who');
    expect(viaSsh.stdout, viaSsh.stderr).toBe('alice\n');
    const copy = join(admin.home, 'who-copy');
    const scp = await runProgram('scp', [...sshOpts(admin), '-P', String(gw.port), `alice.api@${gw.host}:/root/who`, copy]);
    expect(scp.code, scp.stderr).toBe(0);
    expect(await readFile(copy, 'utf8')).toBe('alice\n');
    // ssh -L as alice.api: busybox httpd in alice's workspace serves her file through the tunnel.
    await ok(admin, ['ws', 'exec', 'alice/api', '--', 'httpd', '-p', '127.0.0.1:8080', '-h', '/root']);
    const local = await freePort();
    const tunnel = spawn('ssh', [...sshOpts(admin), '-N', '-L', `127.0.0.1:${local}:127.0.0.1:8080`, '-p', String(gw.port), `alice.api@${gw.host}`], {
      stdio: 'ignore',
    });
    try {
      const body = await waitFor(
        'the ssh -L tunnel to answer',
        async () => {
          const r = await fetch(`http://127.0.0.1:${local}/who`).catch(() => null);
          return r?.ok ? r.text() : null;
        },
        20_000,
        200,
      );
      expect(body).toBe('alice\n');
    } finally {
      tunnel.kill();
    }
    // berth ssh takes OWNER/NAME and logs in as OWNER.NAME.
    const berthSsh = await admin.cli(['ssh', 'alice/api', '--', 'cat /root/who']);
    expect(berthSsh.stdout, berthSsh.stderr).toBe('alice\n');

    // config-ssh writes alice.api.berth and bob.api.berth; plain ssh reaches each.
    const hosts = JSON.parse(await ok(admin, ['config-ssh', '--json'])).hosts;
    expect(hosts.sort()).toEqual(['alice.api.berth', 'bob.api.berth']);
    const config = join(admin.home, '.ssh', 'config');
    const text = await readFile(config, 'utf8');
    expect(text).toContain('Host alice.api.berth\n');
    expect(text).toContain('  User alice.api\n');
    for (const [host, who] of [
      ['alice.api.berth', 'alice'],
      ['bob.api.berth', 'bob'],
    ]) {
      const r = await runProgram('ssh', ['-F', config, '-o', 'BatchMode=yes', host, 'cat /root/who'], { env: admin.env });
      expect(r.stdout, r.stderr).toBe(`${who}\n`);
    }
    // Each member's own config-ssh names their own as api.berth.
    expect(JSON.parse(await ok(bob, ['config-ssh', '--json'])).hosts).toEqual(['api.berth']);
  });

  it('deletes alice/api and leaves bob/api running', async () => {
    await ok(admin, ['ws', 'rm', 'alice/api']);
    expect((await alice.cli(['ws', 'show', 'api'])).code).toBe(3);
    expect(await docker.listContainers({ all: true, filters: { label: [`berth.workspace=${ids.alice}`] } })).toEqual([]);
    expect(await ok(bob, ['ws', 'exec', 'api', '--', 'cat', '/root/who'])).toBe('bob\n');
    expect(JSON.parse(await ok(bob, ['ws', 'show', 'api', '--json']))).toMatchObject({ status: 'running', owner: 'bob' });
    const ops = JSON.parse(await ok(admin, ['audit', 'ls', '--json'])).entries.map((e: any) => e.target);
    expect(ops).toContain('alice/api');
  });
});
