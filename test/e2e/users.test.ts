/**
 * People end to end: invites and registration (with an SSH key made on the spot), members who
 * see and touch only their own workspaces, tokens that stop working the moment they are
 * revoked, users removed with their workspaces handled explicitly, and the audit log.
 */
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, TestServer, uniqueName } from './harness.js';

let server: TestServer;

/** A person with their own HOME and CLI config, as on their own laptop. */
async function person(): Promise<{ home: string; env: Record<string, string>; cli: (args: string[], input?: string) => ReturnType<typeof runCli> }> {
  const home = await mkdtemp(join(tmpdir(), 'berth-e2e-home-'));
  const env = { HOME: home, BERTH_CONFIG: join(home, 'berth.json'), BERTH_SERVER: '', BERTH_TOKEN: '' };
  return { home, env, cli: (args, input) => runCli(args, { env, input }) };
}

async function register(email: string, name: string) {
  const invite = await server.json<{ code: string }>(['user', 'invite', email]);
  const p = await person();
  const r = await p.cli(['register', server.url, '--invite', invite.code, '--name', name]);
  expect(r.code, r.stderr).toBe(0);
  return { ...p, invite: invite.code };
}

beforeAll(async () => {
  server = await TestServer.start({ localAgent: true });
  await server.waitNodeOnline();
  expect((await server.cli(['image', 'build', 'base', '--from', 'busybox'])).code).toBe(0);
});

afterAll(async () => {
  await server.destroy();
});

describe('users', () => {
  it('registers with an invite, makes an OpenSSH key (0600) and registers it', async () => {
    const alice = await register('alice@example.com', 'alice');
    const key = join(alice.home, '.ssh', 'berth_ed25519');
    expect((await stat(key)).mode & 0o777).toBe(0o600);
    expect(await readFile(key, 'utf8')).toContain('BEGIN OPENSSH PRIVATE KEY');
    const keys = JSON.parse((await alice.cli(['ssh-key', 'ls', '--json'])).stdout).keys;
    expect(keys).toHaveLength(1);
    expect(keys[0].fingerprint).toMatch(/^SHA256:/);
    const who = JSON.parse((await alice.cli(['whoami', '--json'])).stdout);
    expect(who).toMatchObject({ name: 'alice', role: 'member' });

    // generate again: the file is kept byte for byte and the key is reported, not duplicated.
    const before = await readFile(key, 'utf8');
    const again = await alice.cli(['ssh-key', 'generate']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Using existing');
    expect(await readFile(key, 'utf8')).toBe(before);
  });

  it('refuses a used or expired invite, consuming nothing', async () => {
    const invite = await server.json<{ code: string }>(['user', 'invite', 'carol@example.com']);
    const carol = await person();
    expect((await carol.cli(['register', server.url, '--invite', invite.code, '--name', 'carol', '--no-ssh-key'])).code).toBe(0);
    const mallory = await person();
    const reused = await mallory.cli(['register', server.url, '--invite', invite.code, '--name', 'mallory', '--no-ssh-key']);
    expect(reused.code).toBe(4);
    expect(reused.stderr).toMatch(/UNAUTHENTICATED.*already used/);

    const short = await server.json<{ code: string }>(['user', 'invite', 'late@example.com', '--ttl', '5s']);
    await new Promise((r) => setTimeout(r, 5500));
    const late = await mallory.cli(['register', server.url, '--invite', short.code, '--name', 'late', '--no-ssh-key']);
    expect(late.code).toBe(4);
    expect(late.stderr).toMatch(/expired/);
    const names = (await server.json<any>(['user', 'ls'])).users.map((u: any) => u.name);
    expect(names).not.toContain('mallory');
    expect(names).not.toContain('late');
  });

  it('keeps members to their own workspaces, and audits each denial', async () => {
    const dave = await register('dave@example.com', 'dave');
    const erin = await register('erin@example.com', 'erin');
    const ws = uniqueName('dave');
    expect((await dave.cli(['ws', 'create', ws])).code).toBe(0);
    expect((await dave.cli(['ws', 'exec', ws, '--', 'echo', 'mine'])).stdout).toBe('mine\n');

    expect(JSON.parse((await erin.cli(['ws', 'ls', '--json'])).stdout).workspaces).toEqual([]);
    // Names are unique per owner: dave's is dave/NAME to anyone else.
    const theirs = `dave/${ws}`;
    for (const args of [
      ['ws', 'show', theirs],
      ['ws', 'exec', theirs, '--', 'true'],
      ['ws', 'stop', theirs],
      ['ws', 'rm', theirs],
    ]) {
      const r = await erin.cli(args);
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr).toContain(`No workspace named ${theirs}`);
    }
    // The admin sees everything; the workspace is untouched.
    const all = (await server.json<any>(['ws', 'ls'])).workspaces;
    expect(all.find((w: any) => w.name === ws)).toMatchObject({ owner: 'dave', status: 'running' });
    const denials = (await server.json<any>(['audit', 'ls', '--user', 'erin'])).entries.filter((e: any) => e.outcome === 'denied');
    expect(denials.length).toBeGreaterThanOrEqual(4);
    expect(denials[0].target).toBe(`workspace/dave/${ws}`);
    // Members cannot use admin commands.
    const invite = await erin.cli(['user', 'invite', 'x@example.com']);
    expect(invite.code).toBe(4);
    expect(invite.stderr).toContain('PERMISSION_DENIED');
  });

  it('stops a revoked token at once', async () => {
    const frank = await register('frank@example.com', 'frank');
    const created = JSON.parse((await frank.cli(['token', 'create', 'ci', '--json'])).stdout);
    const asCi = (args: string[]) => runCli(args, { env: { ...frank.env, BERTH_SERVER: server.url, BERTH_TOKEN: created.token } });
    expect((await asCi(['whoami'])).code).toBe(0);
    expect((await frank.cli(['token', 'revoke', 'ci'])).code).toBe(0);
    const after = await asCi(['whoami']);
    expect(after.code).toBe(4);
    expect(after.stderr).toContain('UNAUTHENTICATED');
    const listed = JSON.parse((await frank.cli(['token', 'ls', '--json'])).stdout).tokens.map((t: any) => t.name);
    expect(listed).not.toContain('ci');
  });

  it('removes a user only when told what happens to their workspaces', async () => {
    const gina = await register('gina@example.com', 'gina');
    const ws = uniqueName('gina');
    expect((await gina.cli(['ws', 'create', ws])).code).toBe(0);
    const refused = await server.cli(['user', 'rm', 'gina']);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain(ws);
    expect(refused.stderr).toContain('--workspaces');
    const removed = await server.json<any>(['user', 'rm', 'gina', '--workspaces', 'delete']);
    expect(removed.deletedWorkspaces).toEqual([ws]);
    const after = await gina.cli(['ws', 'ls']);
    expect(after.code).toBe(4);
    await expect.poll(async () => (await server.json<any>(['ws', 'ls'])).workspaces.map((w: any) => w.name), { timeout: 30_000 }).not.toContain(ws);
  });

  it('records mutating calls in the audit log', async () => {
    const entries = (await server.json<any>(['audit', 'ls', '--since', '1h'])).entries;
    const actions = entries.map((e: any) => e.action);
    expect(actions).toContain('invitesPost');
    expect(actions).toContain('registerPost');
    expect(actions).toContain('workspacesPost');
    expect(entries.every((e: any) => e.at && e.outcome)).toBe(true);
  });
});
