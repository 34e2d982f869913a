/**
 * The lazy command table in program.ts against the full program: every command, built for
 * its own arguments, is there with its own options, and loading one command loads no other.
 */
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { CliContext } from './context.js';
import { EXIT } from './exit-codes.js';
import { buildProgram } from './program.js';

const ctx = {
  io: {},
  json: false,
  exitCode: EXIT.OK,
  client: async () => {
    throw new Error('no client in this test');
  },
} as unknown as CliContext;

/** Every command path of a program, e.g. `ws create`, with its options' flags. */
function commandPaths(program: Command): Map<string, string[]> {
  const paths = new Map<string, string[]>();
  const walk = (cmd: Command, prefix: string[]): void => {
    for (const sub of cmd.commands) {
      const path = [...prefix, sub.name()];
      paths.set(
        path.join(' '),
        sub.options.map((o) => o.flags),
      );
      walk(sub, path);
    }
  };
  walk(program, []);
  return paths;
}

describe('the command table', () => {
  it('builds every command for its own arguments, and only that command', async () => {
    const all = commandPaths(await buildProgram(ctx));
    expect(all.size).toBeGreaterThan(30);
    for (const [path, flags] of all) {
      const words = path.split(' ');
      const built = commandPaths(await buildProgram(ctx, [...words, '--json']));
      expect(built.get(path), path).toEqual(flags);
      // A leaf of a group (`ws create`) comes alone; a family such as `ssh-key` comes whole.
      const top = [...built.keys()].filter((p) => !p.includes(' '));
      expect(top, path).toHaveLength(words[0] === 'user' || words[0] === 'register' ? 2 : 1);
    }
  });

  it('loads every command for help, a bare berth or an unknown word', async () => {
    const all = commandPaths(await buildProgram(ctx)).size;
    for (const argv of [[], ['--help'], ['help', 'ws'], ['nosuch']]) expect(commandPaths(await buildProgram(ctx, argv)).size).toBe(all);
  });
});
