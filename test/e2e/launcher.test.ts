/**
 * bin/berth as a shell runs it: user commands start from the CLI's V8 snapshot when this Node
 * built it, and everything else (server, agent, BERTH_DEBUG, another Node) runs the bundled ES
 * modules. `sh -x` shows which `exec` the launcher chose.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT } from './harness.js';

/** Runs the launcher under `sh -x` and returns its trace and output. */
function traced(bin: string, args: string[], env: Record<string, string> = {}): { trace: string; stdout: string; status: number | null } {
  const r = spawnSync('sh', ['-x', bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { trace: r.stderr, stdout: r.stdout, status: r.status };
}

const execLine = (trace: string): string =>
  trace
    .split('\n')
    .filter((l) => l.startsWith('+ exec '))
    .join('\n');

describe('bin/berth', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'berth-launcher-'));
    if (!existsSync(join(ROOT, 'dist/snapshot/berth.blob'))) {
      throw new Error(`the build made no CLI snapshot with ${process.version} (dist/snapshot/berth.blob is missing); run \`npm run build\` and read its notes`);
    }
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('starts user commands from the snapshot, also through a symlink', async () => {
    const direct = traced(BIN, ['ws', '--help']);
    expect(direct.status).toBe(0);
    expect(direct.stdout).toContain('Usage: berth ws');
    expect(execLine(direct.trace)).toContain('--snapshot-blob');

    const link = join(scratch, 'berth');
    await symlink(BIN, link);
    const viaLink = traced(link, ['--help']);
    expect(viaLink.status).toBe(0);
    expect(viaLink.stdout).toContain('Usage: berth');
    expect(execLine(viaLink.trace)).toContain(`--snapshot-blob ${join(ROOT, 'bin')}/../dist/snapshot/berth.blob`);
  });

  it('runs the server, the agent, a lone --version and BERTH_DEBUG runs from the ES modules', () => {
    // The server also gets its V8 young generation capped (docs/performance.md, Fleet scale).
    for (const [args, env, nodeFlags] of [
      [['server', '--help'], {}, '--max-semi-space-size=8 '],
      [['agent', '--help'], {}, ''],
      [['--version'], {}, ''],
      [['-V'], {}, ''],
      [['--help'], { BERTH_DEBUG: '1' }, ''],
    ] as const) {
      const r = traced(BIN, [...args], env);
      expect(r.status, r.trace).toBe(0);
      expect(execLine(r.trace)).not.toContain('--snapshot-blob');
      expect(execLine(r.trace)).toContain(`exec node ${nodeFlags}${BIN}`);
    }
  });

  it('falls back to the ES modules when another Node built the snapshot, and still works', async () => {
    // A copy of the checkout's layout whose snapshot names another Node binary.
    const root = join(scratch, 'other');
    await mkdir(join(root, 'bin'), { recursive: true });
    await mkdir(join(root, 'dist/snapshot'), { recursive: true });
    await cp(BIN, join(root, 'bin/berth'));
    await symlink(join(ROOT, 'dist/bundle'), join(root, 'dist/bundle'));
    await cp(join(ROOT, 'dist/snapshot/berth.blob'), join(root, 'dist/snapshot/berth.blob'));
    await writeFile(join(root, 'dist/snapshot/node.path'), '/opt/some-other-node/bin/node\n');
    const r = traced(join(root, 'bin/berth'), ['--help']);
    expect(r.status, r.trace).toBe(0);
    expect(r.stdout).toContain('Usage: berth');
    expect(execLine(r.trace)).not.toContain('--snapshot-blob');
  });
});
