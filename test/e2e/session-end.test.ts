/**
 * Sessions end with their workspace. While a workspace has live sessions — a command through
 * the SSH gateway with the real ssh client, an `ssh -N -L` port forward, and `berth ws exec` —
 * stopping it, restarting it or deleting it ends every one of them at once, each client told
 * why: ssh prints "berth: Workspace NAME was stopped by admin; session closed." and exits 255,
 * `berth ws exec` prints the same sentence with its code and exits 5, the tunnel's ssh exits.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, freePort, type Gateway, type GatewayAdmin, Proc, startGatewayWorld, type TestServer, uniqueName, waitFor } from './harness.js';

let server: TestServer;
let gw: Gateway;
let admin: GatewayAdmin;
const ws = uniqueName('ends');

/** Sessions are ended when the transition is accepted, long before a stop's grace period. */
const PROMPTLY_MS = 5000;

function sshArgs(extra: string[]): string[] {
  return [
    '-F',
    '/dev/null',
    '-i',
    admin.key,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    `UserKnownHostsFile=${admin.knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-p',
    String(gw.port),
    ...extra,
  ];
}

/** Three live sessions on the workspace, each confirmed running. */
async function openSessions(): Promise<{ ssh: Proc; exec: Proc; tunnel: Proc }> {
  const ssh = new Proc(spawn('ssh', sshArgs([`${ws}@${gw.host}`, 'echo started; sleep 600']), { stdio: ['ignore', 'pipe', 'pipe'] }));
  const exec = new Proc(
    spawn(BIN, ['ws', 'exec', ws, '--', 'sh', '-c', 'echo started; sleep 600'], {
      env: { ...process.env, ...admin.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const local = await freePort();
  const tunnel = new Proc(
    spawn('ssh', sshArgs(['-N', '-o', 'ExitOnForwardFailure=yes', '-L', `${local}:127.0.0.1:8080`, `${ws}@${gw.host}`]), { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  await waitFor(`the ssh command to start: ${ssh.output}`, async () => ssh.output.includes('started'), 30_000, 50);
  await waitFor(`the exec to start: ${exec.output}`, async () => exec.output.includes('started'), 30_000, 50);
  await waitFor(`the tunnel to listen: ${tunnel.output}`, () => listening(local), 30_000, 100);
  return { ssh, exec, tunnel };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Resolves with the exit code, or rejects when the process outlives `ms`. */
async function exitsWithin(p: Proc, ms: number, what: string): Promise<number | null> {
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} still alive after ${ms} ms: ${p.output}`)), ms).unref());
  return Promise.race([p.exited, timer]);
}

beforeAll(async () => {
  ({ server, gw, admin } = await startGatewayWorld(ws));
});

afterAll(async () => {
  await server.destroy();
});

describe('sessions end with their workspace', () => {
  for (const [what, verb, args] of [
    ['stop', 'stopped', ['ws', 'stop', ws]],
    ['restart', 'restarted', ['ws', 'restart', ws]],
    ['rm', 'deleted', ['ws', 'rm', ws]],
  ] as const) {
    it(`ends ssh, port forwards and ws exec at once on ws ${what}`, async () => {
      const status = (await server.json<any>(['ws', 'show', ws])).status;
      if (status === 'stopped') expect((await server.cli(['ws', 'start', ws])).code).toBe(0);
      const { ssh, exec, tunnel } = await openSessions();
      const transition = server.cli([...args]);
      const said = `Workspace ${ws} was ${verb} by admin; session closed.`;

      expect(await exitsWithin(ssh, PROMPTLY_MS, 'the ssh session')).toBe(255);
      expect(ssh.output).toContain(`berth: ${said}`);
      expect(await exitsWithin(exec, PROMPTLY_MS, 'berth ws exec')).toBe(5);
      expect(exec.output).toContain(said);
      await exitsWithin(tunnel, PROMPTLY_MS, 'the ssh -L tunnel');

      const done = await transition;
      expect(done.code, done.stderr).toBe(0);
    });
  }
});
