/**
 * Configuration as code and dotfiles through the CLI, against a real server with its local
 * agent and real Docker: pull → edit → diff → push round trips, a second push that changes
 * nothing, a stale push refused, an invalid file named by file, line and field with nothing
 * changed, --prune, admin only; the sharing policy, a team quota and an image recipe as
 * files (a recipe recorded by a build, and built by `image build NAME`); a workspace from a
 * template and a quota; dotfiles uploaded
 * from a folder, applied at create, re-applied after an edit, and a second apply that changes
 * nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, type Proc, runCli, startAgent, TestServer, uniqueName } from './harness.js';

let server: TestServer;
let work: string;
let nodeName: string;

/** A member with their own CLI config, as on their own laptop. */
interface Person {
  cli: (args: string[]) => ReturnType<typeof runCli>;
}
let alice: Person;
let bob: Person;
let second: Proc | null = null;

async function register(email: string, name: string): Promise<Person> {
  const invite = await server.json<{ code: string }>(['user', 'invite', email]);
  const home = await mkdtemp(join(work, 'home-'));
  const env = { HOME: home, BERTH_CONFIG: join(home, 'berth.json'), BERTH_SERVER: '', BERTH_TOKEN: '' };
  const r = await runCli(['register', server.url, '--invite', invite.code, '--name', name, '--no-ssh-key'], { env });
  expect(r.code, r.stderr).toBe(0);
  return { cli: (args) => runCli(args, { env }) };
}

/** The live configuration as the API gives it. */
async function live(): Promise<any> {
  const res = await fetch(`${server.url}/api/v1/config`, { headers: { authorization: `Bearer ${server.token}` } });
  expect(res.status).toBe(200);
  return res.json();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-e2e-config-'));
  server = await TestServer.start({ localAgent: true });
  nodeName = (await server.waitNodeOnline()).name;
  const built = await server.cli(['image', 'build', 'base', '--from', 'busybox']);
  expect(built.code, built.stderr).toBe(0);
  alice = await register('alice@example.com', 'alice');
  bob = await register('bob@example.com', 'bob');
}, 600_000);

afterAll(async () => {
  await server?.destroy();
  await second?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('config as code', () => {
  it('pulls, diffs and pushes an edit; a second push changes nothing', async () => {
    const dir = join(work, 'cfg');
    const pulled = await server.cli(['config', 'pull', dir]);
    expect(pulled.code, pulled.stderr).toBe(0);
    // The settings, the node, and the recipe of the image beforeAll built (a build records it).
    expect(pulled.stdout).toMatch(/Pulled revision \d+: 3 resources/);
    expect(await readFile(join(dir, 'server.yaml'), 'utf8')).toBe('kind: ServerSettings\nname: server\nspec: {}\n');
    expect(await readFile(join(dir, 'images', 'base.yaml'), 'utf8')).toBe('kind: ImageRecipe\nname: base\nspec:\n  from: busybox\n  packages: []\n');
    const nodeFile = join(dir, 'nodes', `${nodeName}.yaml`);
    expect(await readFile(nodeFile, 'utf8')).toContain(`name: ${nodeName}`);

    await writeFile(nodeFile, `kind: Node\nname: ${nodeName}\nspec:\n  labels:\n    zone: eu\n  cordoned: false\n`);
    await mkdir(join(dir, 'templates'));
    await writeFile(
      join(dir, 'templates', 'small.yaml'),
      'kind: WorkspaceTemplate\nname: small\nspec:\n  description: a small busybox\n  defaults:\n    image: base\n    env:\n      GREETING: from-template\n  limits:\n    cpus: 1\n',
    );
    await mkdir(join(dir, 'quotas'));
    await writeFile(join(dir, 'quotas', 'bob.yaml'), 'kind: UserQuota\nname: bob\nspec:\n  cpus: 1\n');

    const diff = await server.cli(['config', 'diff', dir]);
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toBe(`~ Node/${nodeName} changed: labels.zone\n+ WorkspaceTemplate/small added\n+ UserQuota/bob added\n`);
    expect(diff.stderr).toBe('');

    const push = await server.cli(['config', 'push', dir]);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toMatch(/^Applied 3 changes \(now revision \d+\):\n/);
    expect((await server.json<any>(['node', 'show', nodeName])).node.labels).toEqual({ zone: 'eu' });

    const again = await server.cli(['config', 'push', dir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^Nothing to change: the live configuration already matches/);
    expect((await server.cli(['config', 'diff', dir])).stdout).toMatch(/^No changes/);

    // One audit entry per push, listing what it changed.
    const audit = (await server.json<any>(['audit', 'ls'])).entries.filter((e: any) => e.action === 'config.push');
    expect(audit).toHaveLength(2);
    expect(audit.map((e: any) => e.detail)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/changed Node\/.*\(labels\.zone\); added WorkspaceTemplate\/small; added UserQuota\/bob/),
        expect.stringMatching(/^no changes/),
      ]),
    );
  });

  it('refuses a push based on a stale pull after an ordinary node label', async () => {
    const dir = join(work, 'stale');
    expect((await server.cli(['config', 'pull', dir])).code).toBe(0);
    expect((await server.cli(['node', 'label', nodeName, 'tier=gold'])).code).toBe(0);
    await writeFile(join(dir, 'templates', 'big.yaml'), 'kind: WorkspaceTemplate\nname: big\nspec:\n  defaults: { image: base }\n');
    const before = await live();
    const diff = await server.cli(['config', 'diff', dir]);
    expect(diff.stderr).toMatch(/a push would be refused/);
    const r = await server.cli(['config', 'push', dir]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('FAILED_PRECONDITION');
    expect(r.stderr).toMatch(/changed since this folder was pulled .*nothing was applied/);
    expect(await live()).toEqual(before);
  });

  it('names the file, line and field of an invalid file and changes nothing', async () => {
    const dir = join(work, 'invalid');
    expect((await server.cli(['config', 'pull', dir])).code).toBe(0);
    await writeFile(join(dir, 'templates', 'other.yaml'), 'kind: WorkspaceTemplate\nname: other\nspec:\n  defaults: { image: base }\n');
    await writeFile(join(dir, 'quotas', 'bob.yaml'), 'kind: UserQuota\nname: bob\nspec:\n  cpus: 1\n  workspaces: lots\n');
    const before = await live();
    const r = await server.cli(['config', 'push', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'quotas', 'bob.yaml')}:5:15: spec.workspaces:`);
    expect(await live()).toEqual(before);
    // A resource the server cannot have (a user without an account) fails the whole push on the server.
    await writeFile(join(dir, 'quotas', 'bob.yaml'), 'kind: UserQuota\nname: bob\nspec:\n  cpus: 1\n');
    await writeFile(join(dir, 'quotas', 'nobody.yaml'), 'kind: UserQuota\nname: nobody\nspec: {}\n');
    const server404 = await server.cli(['config', 'push', dir]);
    expect(server404.code).toBe(3);
    expect(server404.stderr).toMatch(/User nobody has no account here/);
    expect(await live()).toEqual(before);
  });

  it('is for admins only', async () => {
    const r = await alice.cli(['config', 'pull', join(work, 'alice-cfg')]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('PERMISSION_DENIED');
    expect(r.stderr).toContain('Only an admin may do this');
  });

  it('--prune removes what the folder leaves out and resets a node', async () => {
    const dir = join(work, 'prune');
    expect((await server.cli(['config', 'pull', dir])).code).toBe(0);
    await writeFile(join(dir, 'templates', 'scratch.yaml'), 'kind: WorkspaceTemplate\nname: scratch\nspec: {}\n');
    expect((await server.cli(['config', 'push', dir])).code).toBe(0);
    await unlink(join(dir, 'templates', 'scratch.yaml'));
    const plain = await server.cli(['config', 'diff', dir]);
    expect(plain.stdout).toMatch(/^No changes/);
    const diff = await server.cli(['config', 'diff', dir, '--prune']);
    expect(diff.stdout).toBe('- WorkspaceTemplate/scratch removed\n');
    const r = await server.cli(['config', 'push', dir, '--prune', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).changes).toEqual([{ kind: 'WorkspaceTemplate', name: 'scratch', action: 'removed', fields: [] }]);
    expect((await live()).resources.map((x: any) => `${x.kind}/${x.name}`)).not.toContain('WorkspaceTemplate/scratch');
    expect((await live()).resources.map((x: any) => `${x.kind}/${x.name}`)).toContain('WorkspaceTemplate/small');
  });

  it('holds the sharing policy, team quotas and image recipes: pull, edit, diff, push, pull; stale refused; image build NAME builds the recipe', async () => {
    expect((await server.cli(['team', 'create', 'core'])).code).toBe(0);
    // Images are the engine's, shared by every test on this machine: a name of this run's own.
    const tools = uniqueName('tools');
    const dir = join(work, 'kinds');
    const pulled = await server.cli(['config', 'pull', dir]);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(await readFile(join(dir, 'team-quotas', 'core.yaml'), 'utf8')).toBe('kind: TeamQuota\nname: core\nspec: {}\n');

    await writeFile(join(dir, 'server.yaml'), 'kind: ServerSettings\nname: server\nspec:\n  sharing: admins\n');
    await writeFile(join(dir, 'team-quotas', 'core.yaml'), 'kind: TeamQuota\nname: core\nspec:\n  workspaces: 2\n  memory: 2048m\n');
    await writeFile(join(dir, 'images', `${tools}.yaml`), `kind: ImageRecipe\nname: ${tools}\nspec:\n  from: busybox\n`);
    const diff = await server.cli(['config', 'diff', dir]);
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toBe(`~ ServerSettings/server changed: sharing\n~ TeamQuota/core changed: memory, workspaces\n+ ImageRecipe/${tools} added\n`);
    const push = await server.cli(['config', 'push', dir]);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toMatch(/^Applied 3 changes/);

    // The same store the sharing and team commands use.
    expect((await server.json<any>(['sharing-policy', 'show'])).policy).toBe('admins');
    expect((await server.json<any>(['team', 'ls'])).teams.find((t: any) => t.name === 'core')).toMatchObject({
      maxWorkspaces: 2,
      maxMemoryBytes: 2 * 1024 ** 3,
    });
    // Pushing does not build: the recipe is stored, the image is not there yet.
    expect((await server.json<any>(['image', 'ls'])).images.map((i: any) => i.name)).not.toContain(tools);

    const again = join(work, 'kinds-again');
    expect((await server.cli(['config', 'pull', again])).code).toBe(0);
    expect(await readFile(join(again, 'server.yaml'), 'utf8')).toBe('kind: ServerSettings\nname: server\nspec:\n  sharing: admins\n');
    expect(await readFile(join(again, 'team-quotas', 'core.yaml'), 'utf8')).toBe('kind: TeamQuota\nname: core\nspec:\n  workspaces: 2\n  memory: 2g\n');
    expect(await readFile(join(again, 'images', `${tools}.yaml`), 'utf8')).toBe(`kind: ImageRecipe\nname: ${tools}\nspec:\n  from: busybox\n  packages: []\n`);
    expect((await server.cli(['config', 'diff', again])).stdout).toMatch(/^No changes/);

    // `berth sharing-policy set` moves the revision like any config write: the folder is now stale.
    expect((await server.cli(['sharing-policy', 'set', 'everyone'])).code).toBe(0);
    await writeFile(join(again, 'team-quotas', 'core.yaml'), 'kind: TeamQuota\nname: core\nspec:\n  workspaces: 5\n');
    const before = await live();
    const stale = await server.cli(['config', 'push', again]);
    expect(stale.code).toBe(5);
    expect(stale.stderr).toMatch(/changed since this folder was pulled .*nothing was applied/);
    expect(await live()).toEqual(before);
    expect(before.resources).toContainEqual({ kind: 'ServerSettings', name: 'server', spec: { sharing: 'everyone' } });

    // A team the server does not have fails the push on the server, naming it.
    const fresh = join(work, 'kinds-ghost');
    expect((await server.cli(['config', 'pull', fresh])).code).toBe(0);
    await writeFile(join(fresh, 'team-quotas', 'ghost.yaml'), 'kind: TeamQuota\nname: ghost\nspec: {}\n');
    const ghost = await server.cli(['config', 'push', fresh]);
    expect(ghost.code).toBe(3);
    expect(ghost.stderr).toMatch(/Team ghost does not exist/);
    // And a bad recipe is named by file, line and field before anything is sent.
    await writeFile(join(fresh, 'team-quotas', 'ghost.yaml'), 'kind: ImageRecipe\nname: ghost\nspec:\n  from: busybox\n  packages: [Not A Package]\n');
    const bad = await server.cli(['config', 'push', fresh]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`${join(fresh, 'team-quotas', 'ghost.yaml')}:5:14: spec.packages.0:`);
    expect(await live()).toEqual(before);

    // `image build NAME` with nothing else builds the stored recipe; without one it says what to do.
    const built = await server.cli(['image', 'build', tools]);
    expect(built.code, built.stderr).toBe(0);
    expect((await server.json<any>(['image', 'ls'])).images.find((i: any) => i.name === tools)).toMatchObject({ from: 'busybox', packages: [] });
    const none = await server.cli(['image', 'build', 'nosuch']);
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('NOT_FOUND');
    expect(none.stderr).toMatch(/no image recipe named nosuch: give --from/);
    const noBase = await server.cli(['image', 'build', tools, '--packages', 'git']);
    expect(noBase.code).toBe(2);
    expect(noBase.stderr).toMatch(/Packages need a base: give --from/);
    // A build that fails records nothing.
    const broken = uniqueName('broken');
    const failed = await server.cli(['image', 'build', broken, '--from', 'busybox', '--packages', 'git']);
    expect(failed.code).not.toBe(0);
    expect((await live()).resources.map((x: any) => `${x.kind}/${x.name}`)).not.toContain(`ImageRecipe/${broken}`);
    await docker.getImage(`berth/${tools}:latest`).remove({ force: true });
  });

  it('prints the JSON Schema of config files', async () => {
    const r = await runCli(['schema', 'config']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout);
    expect(JSON.stringify(schema)).toContain('WorkspaceTemplate');
    expect(schema.title).toMatch(/configuration file/);
  });
});

describe('templates and quotas at create', () => {
  it('creates from a template, with its env, and holds its limits', async () => {
    const name = uniqueName('tpl');
    const r = await server.cli(['ws', 'create', name, '--template', 'small']);
    expect(r.code, r.stderr).toBe(0);
    const env = await server.cli(['ws', 'exec', name, '--', 'sh', '-c', 'echo "$GREETING"']);
    expect(env.stdout.trim()).toBe('from-template');
    const over = await server.cli(['ws', 'create', uniqueName('tpl'), '--template', 'small', '--cpus', '2']);
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(/Template small allows at most 1 CPUs/);
    const missing = await server.cli(['ws', 'create', uniqueName('tpl'), '--template', 'nosuch']);
    expect(missing.code).toBe(3);
    expect((await server.cli(['ws', 'rm', name])).code).toBe(0);
  });

  it("refuses a create past the owner's quota, before anything is made", async () => {
    const r = await bob.cli(['ws', 'create', uniqueName('quota'), '--cpus', '2']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/Your quota allows 1 CPUs in all/);
    expect((await server.json<any>(['ws', 'ls'])).workspaces.filter((w: any) => w.owner === 'bob')).toEqual([]);
  });
});

describe('dotfiles', () => {
  it('uploads a folder, applies it at create, re-applies an edit, and a second apply changes nothing', async () => {
    const dots = join(work, 'dots');
    await mkdir(dots);
    await writeFile(join(dots, '.berthrc'), 'v1\n');
    const set = await alice.cli(['dotfiles', 'set', dots]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/uploaded folder \(1 file/);
    expect((await alice.cli(['dotfiles', 'show'])).stdout).toMatch(/link dot-files into \$HOME/);

    const name = uniqueName('dots');
    const created = await alice.cli(['ws', 'create', name]);
    expect(created.code, created.stderr).toBe(0);
    expect(`${created.stdout}${created.stderr}`).toContain('dotfiles: linked ~/.berthrc');
    const cat = () => alice.cli(['ws', 'exec', name, '--', 'sh', '-c', 'cat "$HOME/.berthrc"']);
    expect((await cat()).stdout).toBe('v1\n');

    await writeFile(join(dots, '.berthrc'), 'v2\n');
    expect((await alice.cli(['dotfiles', 'set', dots])).code).toBe(0);
    const applied = await alice.cli(['dotfiles', 'apply', name]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain(`Dotfiles applied in ${name}.`);
    expect((await cat()).stdout).toBe('v2\n');
    const twice = await alice.cli(['dotfiles', 'apply', name, '--json']);
    expect(JSON.parse(twice.stdout)).toMatchObject({ workspace: name, changed: false });
    expect((await cat()).stdout).toBe('v2\n');

    // Someone else's workspace is not there for bob, dotfiles or not.
    expect((await bob.cli(['dotfiles', 'apply', name])).code).toBe(3);
  });

  it('reports a failing install script in the create log and keeps the workspace; git is needed for a repository', async () => {
    const dots = join(work, 'dots-bad');
    await mkdir(dots);
    await writeFile(join(dots, 'install.sh'), 'echo about to fail; exit 9\n');
    expect((await alice.cli(['dotfiles', 'set', dots])).code).toBe(0);
    const name = uniqueName('dotsbad');
    const created = await alice.cli(['ws', 'create', name]);
    expect(created.code, created.stderr).toBe(0);
    expect(`${created.stdout}${created.stderr}`).toMatch(/dotfiles failed \(the workspace is fine and running\): Applying dotfiles in .* failed: exit 9/);
    expect((await alice.cli(['ws', 'show', name, '--json'])).stdout).toContain('"status": "running"');
    const again = await alice.cli(['dotfiles', 'apply', name]);
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/exit 9/);

    // busybox has no git: a repository's apply says so rather than failing obscurely.
    expect((await alice.cli(['dotfiles', 'set', 'file:///srv/dotfiles.git'])).code).toBe(0);
    const repo = await alice.cli(['dotfiles', 'apply', name]);
    expect(repo.code).toBe(5);
    expect(repo.stderr).toMatch(/git is not installed in the workspace/);
    // A folder near the limit passes the server's request limit; one past it is refused by the CLI.
    const big = join(work, 'dots-big');
    await mkdir(big);
    await writeFile(join(big, '.big'), randomBytes(480 * 1024));
    const near = await alice.cli(['dotfiles', 'set', big, '--json']);
    expect(near.code, near.stderr).toBe(0);
    expect(JSON.parse(near.stdout).bytes).toBe(480 * 1024);
    await writeFile(join(big, '.big'), randomBytes(600 * 1024));
    const past = await alice.cli(['dotfiles', 'set', big]);
    expect(past.code).toBe(2);
    expect(past.stderr).toMatch(/more than 512 KiB/);
    const bad = await alice.cli(['dotfiles', 'set', 'ext::sh -c touch% /tmp/pwned']);
    expect(bad.code).toBe(2);
    expect((await alice.cli(['dotfiles', 'unset'])).code).toBe(0);
    expect((await alice.cli(['dotfiles', 'show'])).stdout).toMatch(/No dotfiles set/);
  });
});

describe('server settings', () => {
  it('a pushed placement strategy steers the scheduler of the running server', async () => {
    second = (await startAgent(server, { name: 'cfgb' })).proc;
    await server.waitNodeOnline('cfgb');
    const removeAll = async () => {
      for (const w of (await server.json<any>(['ws', 'ls'])).workspaces) expect((await server.cli(['ws', 'rm', w.ref])).code).toBe(0);
    };
    const placeTwo = async (): Promise<string[]> => {
      const nodes: string[] = [];
      for (const name of [uniqueName('bp'), uniqueName('bp')]) {
        const r = await server.cli(['ws', 'create', name, '--json']);
        expect(r.code, r.stderr).toBe(0);
        nodes.push(JSON.parse(r.stdout).workspace.nodeName);
      }
      await removeAll();
      return nodes;
    };
    // Control: on two empty nodes the start-up default (spread) splits two workspaces.
    await removeAll();
    const spread = await placeTwo();
    expect(spread[0]).not.toBe(spread[1]);
    const dir = join(work, 'placement');
    expect((await server.cli(['config', 'pull', dir])).code).toBe(0);
    await writeFile(join(dir, 'server.yaml'), 'kind: ServerSettings\nname: server\nspec:\n  placement: binpack\n');
    const push = await server.cli(['config', 'push', dir]);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toContain('~ ServerSettings/server changed: placement');
    // The same two creates now land on one node: binpack fills a node first.
    const binpack = await placeTwo();
    expect(binpack[0]).toBe(binpack[1]);
  });
});
