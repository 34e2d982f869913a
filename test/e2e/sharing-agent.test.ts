/**
 * Own identity with `ssh -A`: alice and bob are both in alice's shared Debian workspace at the
 * same time, each forwarding their own agent. Inside, each session's SSH_AUTH_SOCK lists that
 * person's key and not the other's: forwarding is per connection, and the owner's agent is
 * never what a guest's session is handed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayGetSchema } from '../../src/api/index.js';
import { type Gateway, runCli, runProgram, TestServer, uniqueName, waitFor } from './harness.js';

let server: TestServer;
let gw: Gateway;
let scratch: string;
const agents: ChildProcess[] = [];
const ws = uniqueName('agentws');

interface Person {
  home: string;
  env: Record<string, string>;
  key: string;
  sock: string;
  fingerprint: string;
}

async function person(name: string): Promise<Person> {
  const inv = await server.json<{ connect: string }>(['user', 'invite', `${name}@example.com`]);
  const home = await mkdtemp(join(scratch, `${name}-`));
  const env = { HOME: home, BERTH_CONFIG: join(home, 'berth.json') };
  const r = await runCli(['register', '--invite', inv.connect, '--name', name], { env });
  expect(r.code, r.stderr).toBe(0);
  await writeFile(join(home, 'known_hosts'), `[${gw.host}]:${gw.port} ${gw.hostKey}\n`);
  const key = join(home, '.ssh', 'berth_ed25519');
  // Each person's own ssh-agent holding only their own key.
  const sock = join(home, 'agent.sock');
  agents.push(spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' }));
  await waitFor(`${name}'s ssh-agent`, async () => (await runProgram('ssh-add', ['-l'], { env: { SSH_AUTH_SOCK: sock } })).code === 1);
  expect((await runProgram('ssh-add', [key], { env: { SSH_AUTH_SOCK: sock } })).code).toBe(0);
  const fingerprint = (await runProgram('ssh-keygen', ['-lf', `${key}.pub`])).stdout.split(' ')[1]!;
  expect(fingerprint).toMatch(/^SHA256:/);
  return { home, env, key, sock, fingerprint };
}

/** `user`: the SSH user, NAME for the owner, OWNER.NAME for a guest (names are unique per owner). */
const sshA = (p: Person, user: string, command: string) =>
  runProgram(
    'ssh',
    [
      '-F',
      '/dev/null',
      '-A',
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
      `${user}@${gw.host}`,
      command,
    ],
    { env: { SSH_AUTH_SOCK: p.sock } },
  );

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'berth-e2e-share-agent-'));
  server = await TestServer.start({ localAgent: true });
  await server.waitNodeOnline();
  // git too: test/e2e/dotfiles-git.test.ts builds the same package list, so the suite caches one Debian rootfs for both.
  const build = await server.cli(['image', 'build', 'sshclient', '--from', 'debian:bookworm', '--packages', 'busybox,openssh-server,git'], {
    timeoutMs: 900_000,
  });
  expect(build.code, build.stderr).toBe(0);
  const res = await fetch(`${server.url}/api/v1/gateway`, { headers: { authorization: `Bearer ${server.token}` } });
  gw = gatewayGetSchema.parse(await res.json()).ssh!;
}, 900_000);

afterAll(async () => {
  for (const a of agents) a.kill();
  await server?.destroy();
  await rm(scratch, { recursive: true, force: true });
});

describe('ssh -A into a shared workspace', () => {
  it("hands each connection its own person's agent, never the owner's to a guest", async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    expect((await runCli(['ws', 'create', ws, '--image', 'sshclient'], { env: alice.env })).code).toBe(0);
    expect((await runCli(['ws', 'share', ws, '--user', 'bob'], { env: alice.env })).code).toBe(0);
    // Both at once: alice's session stays open while bob's lists its agent.
    const aliceSession = sshA(alice, ws, 'ssh-add -l; sleep 3; ssh-add -l');
    const bobs = await sshA(bob, `alice.${ws}`, 'echo "$BERTH_USER"; ssh-add -l');
    const alices = await aliceSession;
    expect(bobs.code, bobs.stderr).toBe(0);
    const [who, ...bobKeys] = bobs.stdout.trim().split('\n');
    expect(who).toBe('bob');
    expect(bobKeys.join('\n')).toContain(bob.fingerprint);
    expect(bobKeys.join('\n')).not.toContain(alice.fingerprint);
    expect(alices.code, alices.stderr).toBe(0);
    expect(alices.stdout).toContain(alice.fingerprint);
    expect(alices.stdout).not.toContain(bob.fingerprint);
    expect((await runCli(['ws', 'rm', ws], { env: alice.env })).code).toBe(0);
  });
});
