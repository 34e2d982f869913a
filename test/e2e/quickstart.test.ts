/**
 * The README's first command, run for real (twice): a server with a local node, a base image,
 * the workspace `demo` and a command run in it; the second run reuses all of it.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerLeftovers, freePort, ROOT, runCli } from './harness.js';

let dataDir = '';
let env: Record<string, string> = {};

function quickstart(): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [join(ROOT, 'scripts/quickstart.sh')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

afterAll(async () => {
  if (!dataDir) return;
  const pid = Number((await readFile(join(dataDir, 'server.pid'), 'utf8').catch(() => '0')).trim());
  const nodeId = await runCli(['node', 'ls', '--json'], { env }).then(
    (r) => JSON.parse(r.stdout).nodes[0]?.id as string | undefined,
    () => undefined,
  );
  await runCli(['ws', 'rm', 'demo'], { env });
  if (pid) process.kill(pid, 'SIGTERM');
  if (nodeId) expect(await dockerLeftovers({ node: nodeId })).toEqual([]);
  await rm(dataDir, { recursive: true, force: true });
});

describe('quickstart', () => {
  it('goes from nothing to a workspace you can get into, and reuses it all on a second run', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'berth-e2e-quickstart-'));
    const port = await freePort();
    // A HOME of its own: the quickstart writes the admin's SSH key and ~/.ssh/config.
    const home = join(dataDir, 'home');
    env = {
      HOME: home,
      BERTH_LISTEN: `127.0.0.1:${port}`,
      BERTH_SSH_LISTEN: `127.0.0.1:${await freePort()}`,
      BERTH_DATA_DIR: dataDir,
      BERTH_CONFIG: join(dataDir, 'cli.json'),
      BERTH_SKIP_BUILD: '1',
      BERTH_SERVER: '',
      BERTH_TOKEN: '',
    };

    const first = await quickstart();
    expect(first.code, first.output).toBe(0);
    expect(first.output).toMatch(/hello from demo: Linux/);
    expect(first.output).toContain('berth ws exec -t demo -- sh');
    expect(first.output).toContain('creating workspace demo');
    // It ends with a workspace the admin can ssh into: a key made and registered, config-ssh done, one real ssh.
    expect(first.output).toContain(`Generated ${join(home, '.ssh', 'berth_ed25519')}`);
    expect(first.output).toContain('Connect with: ssh demo.berth');
    expect(first.output).toMatch(/hello over ssh from demo/);

    const second = await quickstart();
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain('reusing it');
    expect(second.output).toContain('base image exists; reusing it');
    expect(second.output).toContain('workspace demo exists (running); reusing it');
    expect(second.output).toMatch(/hello from demo/);
    expect(second.output).toContain(`Using existing ${join(home, '.ssh', 'berth_ed25519')}`);
    expect(second.output).toMatch(/hello over ssh from demo/);

    const ls = await runCli(['ws', 'ls', '--json'], { env });
    expect(JSON.parse(ls.stdout).workspaces.map((w: { name: string }) => w.name)).toEqual(['demo']);
  });
});
