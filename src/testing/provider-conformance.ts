/**
 * The provider conformance suite: one set of tests that every provider (Docker, LXC, QEMU)
 * must pass against its real engine. A provider's test file calls providerConformance() with a
 * setup that builds the provider and knows how to look for leftovers on the host.
 *
 * What the suite needs from the image: a POSIX /bin/sh with cat, stty, awk and nproc (busybox
 * has them all), and a writable /root that is the workspace's home.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthError, type ExecRequest, silentOp, type WorkspaceSpec } from '../api/index.js';
import { PortScanner } from '../providers/ports/scanner.js';
import type { Provider, WorkspaceHandle } from '../providers/provider.js';
import type { ExecSession } from '../transport/index.js';
import { LIMITS_PROBE_SCRIPT, parseLimitsProbe } from './limits-probe.js';

/** What a provider's test file hands the suite. */
/** An HTTP server on 127.0.0.1:$1 answering "hello from inside": busybox httpd, or perl where there is no busybox (Debian VMs). */
const LOOPBACK_HTTP_SCRIPT = [
  'if command -v httpd >/dev/null 2>&1; then mkdir -p /tmp/berth-connect && echo "hello from inside" > /tmp/berth-connect/index.html && exec httpd -f -p "127.0.0.1:$1" -h /tmp/berth-connect; fi',
  `exec perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0], Listen => 5, ReuseAddr => 1) or die "listen: $!"; while ($c = $s->accept) { <$c>; print $c "HTTP/1.0 200 OK\\r\\n\\r\\nhello from inside\\n"; close $c }' "$1"`,
].join('\n');

export interface ConformanceTarget {
  provider: Provider;
  /** What to pass as spec.image: a berth image name or an engine reference the provider can run. */
  image: string;
  /** A fresh provider instance for the same node, as after an agent restart. */
  reopen(): Promise<Provider>;
  /** A provider of the same kind on the same host that acts as a different node id. */
  otherNode(): Promise<Provider>;
  /** What of this workspace still exists on the host (containers, volumes, disks); empty after destroy. */
  leftovers(workspaceId: string): Promise<string[]>;
  /** An image name whose create must fail, ideally only after the provider began making things. */
  missingImage?: string;
  /** Removes what setup made (images, files); called after every workspace is destroyed. */
  cleanup(): Promise<void>;
}

/** Output and exit code of a finished command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Collects a stream's text; starts reading at once so no output is missed. */
function collect(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
  return new Promise((resolve) => {
    const done = (): void => resolve(Buffer.concat(chunks).toString('utf8'));
    stream.once('end', done);
    stream.once('close', done);
  });
}

/** Runs a command to completion, feeding it `input` (then end-of-file). */
export async function runCommand(provider: Provider, h: WorkspaceHandle, req: Partial<ExecRequest> & { cmd: string[] }, input?: string): Promise<RunResult> {
  const session = await provider.exec(h, { tty: false, env: {}, ...req });
  const stdout = collect(session.stdout);
  const stderr = collect(session.stderr);
  if (input !== undefined) session.stdin.write(input);
  session.stdin.end();
  const code = await session.wait();
  return { code, stdout: await stdout, stderr: await stderr };
}

/** Watches a tty session's output and waits for a pattern to appear after a given offset. */
function ttyWatcher(session: ExecSession): { text: () => string; waitFor: (re: RegExp, from: number, ms?: number) => Promise<string> } {
  let text = '';
  const waiters = new Set<() => void>();
  session.stdout.on('data', (c: Buffer) => {
    text += c.toString('utf8');
    for (const w of waiters) w();
  });
  return {
    text: () => text,
    waitFor: (re, from, ms = 15_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const m = re.exec(text.slice(from));
          if (!m) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(m[0]);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${re} in tty output: ${JSON.stringify(text.slice(from))}`));
        }, ms);
        waiters.add(check);
        check();
      }),
  };
}

/** Awaits a rejection and checks it is a BerthError with this code. */
async function expectCode(p: Promise<unknown>, code: string): Promise<BerthError> {
  const err = await p.then(
    () => new Error(`expected ${code}, but the call succeeded`),
    (e: unknown) => e,
  );
  expect(err, String(err)).toBeInstanceOf(BerthError);
  expect((err as BerthError).code).toBe(code);
  return err as BerthError;
}

const LIMIT_CPUS = 1;
const LIMIT_MEMORY = 256 * 1024 ** 2;

/** Registers the conformance suite for one provider. */
export function providerConformance(name: string, setup: () => Promise<ConformanceTarget>): void {
  describe(`provider conformance: ${name}`, () => {
    let t: ConformanceTarget;
    const made: Array<{ provider: Provider; handle: WorkspaceHandle }> = [];
    const run = randomBytes(3).toString('hex');
    let counter = 0;

    /** A spec with a name and id no other test (or concurrent run) uses. */
    const newSpec = (label: string, extra: Partial<WorkspaceSpec> = {}): WorkspaceSpec => {
      counter += 1;
      return {
        id: `ws${run}${counter}${randomBytes(4).toString('hex')}`,
        name: `conf-${label}-${run}${counter}`,
        provider: t.provider.kind,
        image: t.image,
        cpus: null,
        memoryBytes: null,
        env: {},
        ...extra,
      };
    };

    /** Creates a workspace and remembers it for afterAll, whatever happens in the test. */
    const create = async (spec: WorkspaceSpec, provider: Provider = t.provider): Promise<WorkspaceHandle> => {
      const handle = await provider.create(spec, silentOp());
      made.push({ provider, handle });
      return handle;
    };

    beforeAll(async () => {
      t = await setup();
    });

    afterAll(async () => {
      for (const { provider, handle } of made) await provider.destroy(handle, silentOp()).catch(() => {});
      await t?.cleanup();
    });

    it('probes usable, with no reason given', async () => {
      const info = await t.provider.probe();
      expect(info.kind).toBe(t.provider.kind);
      expect(info.reason).toBeUndefined();
      expect(info.usable).toBe(true);
    });

    describe('a running workspace', () => {
      let h: WorkspaceHandle;
      const exec = (req: Partial<ExecRequest> & { cmd: string[] }, input?: string): Promise<RunResult> => runCommand(t.provider, h, req, input);

      beforeAll(async () => {
        h = await create(newSpec('run', { cpus: LIMIT_CPUS, memoryBytes: LIMIT_MEMORY, env: { BERTH_CONFORMANCE: 'spec-env' } }));
        expect(h.kind).toBe(t.provider.kind);
        expect(await t.provider.inspect(h)).toBe('stopped');
        await t.provider.start(h, silentOp());
      });

      it('is running after create and start', async () => {
        expect(await t.provider.inspect(h)).toBe('running');
      });

      it('keeps stdout and stderr apart and reports exit codes', async () => {
        expect(await exec({ cmd: ['/bin/sh', '-c', 'echo out; echo err >&2'] })).toEqual({ code: 0, stdout: 'out\n', stderr: 'err\n' });
        expect(await exec({ cmd: ['/bin/sh', '-c', 'echo three; exit 3'] })).toMatchObject({ code: 3, stdout: 'three\n', stderr: '' });
      });

      it('reports 127 for a command that does not exist', async () => {
        expect((await exec({ cmd: ['berth-no-such-command'] })).code).toBe(127);
        expect((await exec({ cmd: ['/bin/sh', '-c', 'berth-no-such-command'] })).code).toBe(127);
      });

      it('streams stdin to the command until end of input', async () => {
        const input = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n') + '\n';
        const result = await exec({ cmd: ['cat'] }, input);
        expect(result.code).toBe(0);
        expect(result.stdout).toBe(input);
      });

      it('applies the request env and cwd, and the spec env', async () => {
        const result = await exec({ cmd: ['/bin/sh', '-c', 'echo "$FOO|$(pwd)|$BERTH_CONFORMANCE"'], env: { FOO: 'bar baz' }, cwd: '/tmp' });
        expect(result).toMatchObject({ code: 0, stdout: 'bar baz|/tmp|spec-env\n' });
      });

      it('runs in a tty that follows resize', async () => {
        const session = await t.provider.exec(h, { cmd: ['/bin/sh'], tty: true, env: {}, cols: 80, rows: 24 });
        const tty = ttyWatcher(session);
        session.stdin.write('echo "mark-$((40 + 2))"\n');
        await tty.waitFor(/mark-42/, 0);
        let from = tty.text().length;
        session.stdin.write('stty size\n');
        expect(await tty.waitFor(/\b24 80\b/, from)).toBe('24 80');
        await session.resize(100, 40);
        from = tty.text().length;
        session.stdin.write('stty size\n');
        expect(await tty.waitFor(/\b40 100\b/, from)).toBe('40 100');
        session.stdin.write('exit 5\n');
        expect(await session.wait()).toBe(5);
      });

      it('limits CPU and memory as the spec asked', async () => {
        const result = await exec({ cmd: ['/bin/sh', '-c', LIMITS_PROBE_SCRIPT] });
        expect(result.code, result.stderr).toBe(0);
        const limits = parseLimitsProbe(result.stdout);
        expect(limits.cpus, result.stdout).toBeCloseTo(LIMIT_CPUS, 2);
        // A container sees the exact limit; a virtual machine's kernel keeps some memory for itself.
        expect(limits.memoryBytes, result.stdout).toBeLessThanOrEqual(LIMIT_MEMORY);
        expect(limits.memoryBytes, result.stdout).toBeGreaterThan(LIMIT_MEMORY * 0.7);
      });

      it('connects from the node to a service bound to the workspace loopback, and refuses a port nobody listens on', async () => {
        expect(t.provider.connect, 'every provider opens connections into its workspaces').toBeDefined();
        const connect = t.provider.connect!.bind(t.provider);
        const port = 18000 + Math.floor(Math.random() * 1000);
        // An HTTP server on 127.0.0.1 only: busybox httpd in containers, perl (always in Debian) in VMs.
        const server = await t.provider.exec(h, { cmd: ['/bin/sh', '-c', LOOPBACK_HTTP_SCRIPT, 'sh', String(port)], tty: false, env: {} });
        server.stdout.resume();
        server.stderr.resume();
        try {
          const ask = async (): Promise<string> => {
            const conn = await connect(h, port);
            const chunks: Buffer[] = [];
            conn.on('data', (d: Buffer) => chunks.push(d));
            await new Promise<void>((resolve, reject) => {
              conn.on('end', resolve).on('error', reject);
              conn.end('GET /index.html HTTP/1.0\r\n\r\n');
            });
            return Buffer.concat(chunks).toString('utf8');
          };
          let answer = '';
          for (let i = 0; i < 100 && !answer; i++) {
            answer = await ask().catch((err: BerthError) => {
              if (err.code !== 'FAILED_PRECONDITION') throw err;
              return new Promise<string>((r) => setTimeout(() => r(''), 100));
            });
          }
          expect(answer).toMatch(/^HTTP\/1\.[01] 200/);
          expect(answer).toContain('hello from inside');
          // The same listener, as the node's port watcher finds it from the workspace's own tables.
          expect(t.provider.portSource, "every provider reports its workspaces' ports").toBeDefined();
          const ports = await new PortScanner().scan(await t.provider.portSource!(h));
          expect(ports.find((p) => p.port === port)).toMatchObject({
            protocol: 'tcp',
            addresses: ['127.0.0.1'],
            process: { name: expect.stringMatching(/^(httpd|perl)$/) },
          });
        } finally {
          server.close();
        }
        await expect(connect(h, port === 65535 ? 65534 : port + 1)).rejects.toMatchObject({
          code: 'FAILED_PRECONDITION',
          message: expect.stringMatching(/Nothing listens on/),
        });
      });

      it('lists the workspace by label, and not those of another node', async () => {
        const other = await t.otherNode();
        const foreign = await create(newSpec('other'), other);
        const mine = (await t.provider.list()).map((x) => x.workspaceId);
        expect(mine).toContain(h.workspaceId);
        expect(mine).not.toContain(foreign.workspaceId);
        const theirs = (await other.list()).map((x) => x.workspaceId);
        expect(theirs).toContain(foreign.workspaceId);
        expect(theirs).not.toContain(h.workspaceId);
        await other.destroy(foreign, silentOp());
      });
    });

    describe('lifecycle', () => {
      let h: WorkspaceHandle;

      beforeAll(async () => {
        h = await create(newSpec('life'));
        await t.provider.start(h, silentOp());
      });

      it('keeps files in the home directory across stop and start', async () => {
        const write = await runCommand(t.provider, h, { cmd: ['/bin/sh', '-c', 'echo kept > /root/berth-marker && cat /root/berth-marker'] });
        expect(write).toMatchObject({ code: 0, stdout: 'kept\n' });
        await t.provider.stop(h, { timeoutMs: 10_000, force: false }, silentOp());
        await t.provider.start(h, silentOp());
        expect(await runCommand(t.provider, h, { cmd: ['cat', '/root/berth-marker'] })).toMatchObject({ code: 0, stdout: 'kept\n' });
      });

      it('stops promptly, and then refuses exec with FAILED_PRECONDITION', async () => {
        const started = Date.now();
        await t.provider.stop(h, { timeoutMs: 30_000, force: false }, silentOp());
        // The workspace's init must exit on SIGTERM rather than wait out the timeout.
        expect(Date.now() - started).toBeLessThan(20_000);
        expect(await t.provider.inspect(h)).toBe('stopped');
        await expectCode(t.provider.exec(h, { cmd: ['true'], tty: false, env: {} }), 'FAILED_PRECONDITION');
        // Stopping a stopped workspace is not an error.
        await t.provider.stop(h, { timeoutMs: 1000, force: true }, silentOp());
      });

      it('is recovered as running by a fresh provider instance', async () => {
        await t.provider.start(h, silentOp());
        const reopened = await t.reopen();
        expect(await reopened.recover(h)).toBe('running');
        expect(await runCommand(reopened, h, { cmd: ['cat', '/root/berth-marker'] })).toMatchObject({ code: 0, stdout: 'kept\n' });
      });

      it('force-stops a running workspace', async () => {
        await t.provider.stop(h, { timeoutMs: 0, force: true }, silentOp());
        expect(await t.provider.inspect(h)).toBe('stopped');
      });

      it('destroys everything it made, and destroying again is fine', async () => {
        await t.provider.destroy(h, silentOp());
        expect(await t.provider.inspect(h)).toBe('missing');
        expect(await t.leftovers(h.workspaceId)).toEqual([]);
        await t.provider.destroy(h, silentOp());
        expect((await t.provider.list()).map((x) => x.workspaceId)).not.toContain(h.workspaceId);
      });
    });

    it('leaves nothing behind when create fails', async () => {
      const spec = newSpec('fail', { image: t.missingImage ?? `berth-missing-${run}` });
      const err = await t.provider.create(spec, silentOp()).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BerthError);
      expect(await t.leftovers(spec.id)).toEqual([]);
    });
  });
}
