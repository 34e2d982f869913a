import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BerthError, projectSpecSchema } from '../../../api/index.js';
import { recordingOp } from '../../../testing/recording-op.js';
import { LocalTransport } from '../../../transport/local.js';
import { asUser, hookCommands, runHook, shellWord } from './hooks.js';
import type { WorkspaceExec } from './run-in-workspace.js';

// The hooks run on this machine through the local transport: the same exec interface a provider hands the agent.
const local = new LocalTransport();
const exec: WorkspaceExec = (req) => local.exec({ cmd: req.cmd, env: req.env, cwd: req.cwd });

describe('hookCommands', () => {
  it('turns a string into sh -c, keeps an argv, and names each command of a map', () => {
    expect(hookCommands('make setup')).toEqual([{ name: null, argv: ['/bin/sh', '-c', 'make setup'] }]);
    expect(hookCommands(['npm', 'ci'])).toEqual([{ name: null, argv: ['npm', 'ci'] }]);
    expect(hookCommands({ deps: 'npm ci', db: ['createdb', 'app'] })).toEqual([
      { name: 'deps', argv: ['/bin/sh', '-c', 'npm ci'] },
      { name: 'db', argv: ['createdb', 'app'] },
    ]);
    expect(hookCommands(undefined)).toEqual([]);
  });
});

describe('asUser', () => {
  it('runs as root unchanged and wraps other users in su', () => {
    expect(asUser(['id'], undefined)).toEqual(['id']);
    expect(asUser(['id'], 'root')).toEqual(['id']);
    expect(asUser(['echo', "it's"], 'dev')).toEqual(['su', '-s', '/bin/sh', '-c', `echo 'it'\\''s'`, 'dev']);
  });

  it('quotes any word so /bin/sh reads it back unchanged', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ minLength: 0, maxLength: 20 }).filter((s) => !s.includes('\0')),
          { minLength: 1, maxLength: 5 },
        ),
        (words) => {
          const script = `printf '%s\\0' ${words.map(shellWord).join(' ')}`;
          const out = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8' }).stdout;
          expect(out.split('\0').slice(0, -1)).toEqual(words);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('runHook', () => {
  it('runs a map side by side in the workdir with the env, logging each line under its name', async () => {
    const spec = projectSpecSchema.parse({
      env: { GREETING: 'hi' },
      workdir: '/tmp',
      hooks: { post_start: { a: 'echo "$GREETING from $(pwd)"', b: 'sleep 0.6; echo b done', c: 'sleep 0.6' } },
    });
    const op = recordingOp();
    const started = Date.now();
    await runHook('post_start', spec, exec, op);
    expect(op.lines).toContain('post_start.a: hi from /tmp');
    expect(op.lines).toContain('post_start.b: b done');
    // Side by side: two 0.6 s sleeps end well before 1.2 s.
    expect(Date.now() - started).toBeLessThan(1100);
  });

  it('fails with the hook, its exit code and its last lines', async () => {
    const spec = projectSpecSchema.parse({ hooks: { post_create: { ok: 'true', bad: 'for i in $(seq 1 30); do echo line $i; done; exit 7' } } });
    const err = await runHook('post_create', spec, exec, recordingOp()).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BerthError);
    const e = err as BerthError;
    expect(e.code).toBe('FAILED_PRECONDITION');
    expect(e.field).toBe('hooks.post_create');
    expect(e.message).toContain('The post_create.bad hook exited with code 7');
    expect(e.message).toContain('line 30');
    expect(e.message).not.toContain('line 10\n');
    expect(e.detail?.split('\n')).toHaveLength(20);
  });

  it('does nothing for a spec without that hook', async () => {
    const op = recordingOp();
    await runHook('post_create', projectSpecSchema.parse({}), exec, op);
    expect(op.stages).toEqual([]);
  });
});
