/**
 * Behaviours every Transport must share, run against each real implementation: exit codes,
 * separate stdout/stderr, stdin streaming, env and cwd, cancellation, timeouts and files.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import type { Transport } from '../../src/transport/transport.js';

/** Reads a stream to the end. */
export async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/** Registers the shared behaviour tests; `get` returns the transport made in the caller's beforeAll. */
export function transportConformance(get: () => Transport, scratchDir: () => string): void {
  describe('conformance', () => {
    test('exit codes: 0, 3, 127 for a missing program, 128+n for a signal', async () => {
      const t = get();
      expect((await t.run({ cmd: ['true'] })).code).toBe(0);
      expect((await t.run({ cmd: ['sh', '-c', 'exit 3'] })).code).toBe(3);
      const missing = await t.run({ cmd: ['berth-no-such-program'] });
      expect(missing.code).toBe(127);
      expect(missing.stderr).toMatch(/berth-no-such-program/);
      expect((await t.run({ cmd: ['sh', '-c', 'kill -TERM $$'] })).code).toBe(143);
      expect((await t.run({ cmd: ['sh', '-c', 'kill -KILL $$'] })).code).toBe(137);
    });

    test('stdout and stderr stay separate; arguments arrive verbatim', async () => {
      const args = ["it's", '$HOME', 'a b', '', '\n', 'é☃'];
      const r = await get().run({ cmd: ['sh', '-c', 'printf "%s|" "$@"; echo oops >&2', 'sh', ...args] });
      expect(r).toEqual({ code: 0, stdout: args.map((a) => `${a}|`).join(''), stderr: 'oops\n' });
    });

    test('streams 1 MiB of stdin through sha256sum and cat byte for byte', async () => {
      const t = get();
      const data = randomBytes(1024 * 1024);
      const expected = createHash('sha256').update(data).digest('hex');

      const hashing = await t.exec({ cmd: ['sha256sum'] });
      const hashOut = collect(hashing.stdout);
      for (let i = 0; i < data.length; i += 64 * 1024) {
        if (!hashing.stdin.write(data.subarray(i, i + 64 * 1024))) await new Promise((r) => hashing.stdin.once('drain', r));
      }
      hashing.stdin.end();
      expect((await hashOut).toString().split(' ')[0]).toBe(expected);
      expect(await hashing.wait()).toBe(0);

      const echo = await t.exec({ cmd: ['cat'] });
      const echoed = collect(echo.stdout);
      echo.stdin.end(data);
      expect((await echoed).equals(data)).toBe(true);
      expect(await echo.wait()).toBe(0);
    });

    test('env is added to the environment and cwd is honoured', async () => {
      const r = await get().run({
        cmd: ['sh', '-c', 'printf "%s|%s|%s" "$BERTH_X" "$(pwd)" "${PATH:+path-kept}"'],
        env: { BERTH_X: `a 'quoted' "value" $x` },
        cwd: '/tmp',
      });
      expect(r.stdout).toBe(`a 'quoted' "value" $x|/tmp|path-kept`);
    });

    test('run feeds input and enforces its timeout with TIMEOUT', async () => {
      const t = get();
      expect((await t.run({ cmd: ['wc', '-c'], input: 'hello' })).stdout.trim()).toBe('5');
      const started = Date.now();
      await expect(t.run({ cmd: ['sleep', '30'], timeoutMs: 300 })).rejects.toMatchObject({ code: 'TIMEOUT' });
      expect(Date.now() - started).toBeLessThan(5000);
    });

    test('aborting the signal kills the command; close() ends a session early', async () => {
      const t = get();
      const ac = new AbortController();
      const s = await t.exec({ cmd: ['sleep', '30'], signal: ac.signal });
      s.stdout.resume();
      s.stderr.resume();
      setTimeout(() => ac.abort(), 100);
      expect(await s.wait()).toBe(137);

      const s2 = await t.exec({ cmd: ['sleep', '30'] });
      s2.stdout.resume();
      s2.close();
      expect(await s2.wait()).toBe(137);

      const aborted = new AbortController();
      aborted.abort();
      await expect(t.exec({ cmd: ['true'], signal: aborted.signal })).rejects.toThrow();
    });

    test('rejects an empty argv and bad env names before running anything', async () => {
      await expect(get().exec({ cmd: [] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'cmd' });
      await expect(get().exec({ cmd: ['true'], env: { 'A B': '1' } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'env' });
    });

    test('writeFile and readFile round-trip bytes and apply the mode, also to existing files', async () => {
      const t = get();
      const path = `${scratchDir()}/file.bin`;
      const data = randomBytes(200_000);
      await t.writeFile(path, data, 0o600);
      expect((await t.readFile(path)).equals(data)).toBe(true);
      expect((await t.run({ cmd: ['stat', '-c', '%a', path] })).stdout.trim()).toBe('600');
      await t.writeFile(path, 'second', 0o640);
      expect((await t.readFile(path)).toString()).toBe('second');
      expect((await t.run({ cmd: ['stat', '-c', '%a', path] })).stdout.trim()).toBe('640');
      await expect(t.readFile(`${scratchDir()}/missing`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });
}
