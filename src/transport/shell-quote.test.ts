import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { LocalTransport } from './local.js';
import { quoteArg, remoteCommand, shellQuote } from './shell-quote.js';

const local = new LocalTransport();

/** Runs a quoted command string with the real /bin/sh and returns what each argument arrived as. */
async function argvSeenBySh(argv: string[]): Promise<string[]> {
  // printf prints each argument NUL-terminated, so any byte sequence but NUL survives the trip.
  const script = `printf '%s\\0' ${shellQuote(argv)}`;
  const r = await local.run({ cmd: ['/bin/sh', '-c', script] });
  expect(r.code).toBe(0);
  const parts = r.stdout.split('\0');
  parts.pop();
  return parts;
}

describe('shellQuote', () => {
  test('leaves plain words readable and quotes everything else', () => {
    expect(shellQuote(['ls', '-la', '/tmp/a.b'])).toBe('ls -la /tmp/a.b');
    expect(quoteArg('')).toBe("''");
    expect(quoteArg('a b')).toBe("'a b'");
    expect(quoteArg("it's")).toBe(`'it'\\''s'`);
    expect(quoteArg('$HOME')).toBe("'$HOME'");
  });

  test('hard cases survive a real /bin/sh unchanged', async () => {
    const hard = ['', ' ', "'", "''", '"', '\\', '$HOME', '$(id)', '`id`', 'a\nb', '*', '~', '!', '#x', ';', '&&', '|', '-n', 'é ☃ 🚀', '\t', '%s'];
    expect(await argvSeenBySh(hard)).toEqual(hard);
  });

  test('arbitrary strings round-trip through sh -c (property)', async () => {
    // Full unicode minus NUL, which no argv can carry; biased toward shell metacharacters.
    const meta = fc.constantFrom("'", '"', '\\', '$', '`', '\n', ' ', '*', '?', '[', ']', '{', '}', '(', ')', ';', '&', '|', '<', '>', '~', '#', '!', '=', '%');
    const char = fc.oneof(meta, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }));
    const arg = fc.array(char, { maxLength: 20 }).map((cs) => cs.join('').replace(/\0/g, ''));
    await fc.assert(
      fc.asyncProperty(fc.array(arg, { minLength: 1, maxLength: 6 }), async (argv) => {
        expect(await argvSeenBySh(argv)).toEqual(argv);
      }),
      { numRuns: 150 },
    );
  });
});

describe('remoteCommand', () => {
  test('execs the argv, after cd and export when given', () => {
    expect(remoteCommand({ cmd: ['echo', 'hi'] })).toBe('exec echo hi');
    expect(remoteCommand({ cmd: ['pwd'], cwd: '/a b', env: { X: "it's", Y: '1' } })).toBe(`cd '/a b' && export 'X=it'\\''s' Y=1 && exec pwd`);
  });

  test('runs as intended in a real shell, program names with = included', async () => {
    const cmd = remoteCommand({ cmd: ['sh', '-c', 'printf "%s|%s|%s" "$X" "$(pwd)" "$0"', 'A=B'], cwd: '/tmp', env: { X: 'a $b\n"c"' } });
    const r = await local.run({ cmd: ['/bin/sh', '-c', cmd] });
    expect(r).toEqual({ code: 0, stdout: 'a $b\n"c"|/tmp|A=B', stderr: '' });
  });
});
