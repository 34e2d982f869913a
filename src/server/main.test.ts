import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BerthError } from '../api/index.js';
import { runServer } from './main.js';

const dir = await mkdtemp(join(tmpdir(), 'berth-server-main-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Holds a loopback port so the server under test finds it taken. */
async function occupyPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('a TCP server has a port');
  return { port: address.port, server };
}

describe('berth server start-up failures', () => {
  it('a taken --listen port is FAILED_PRECONDITION on listen, saying what to do', async () => {
    const held = await occupyPort();
    try {
      const err = await runServer({
        listen: `127.0.0.1:${held.port}`,
        dataDir: join(dir, 'taken'),
        localAgent: false,
        logLevel: 'silent',
        sshListen: 'off',
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BerthError);
      expect(err).toMatchObject({ code: 'FAILED_PRECONDITION', field: 'listen' });
      expect((err as BerthError).message).toContain(`127.0.0.1:${held.port} (EADDRINUSE)`);
      expect((err as BerthError).message).toContain('--listen');
    } finally {
      held.server.close();
    }
  });

  it('a malformed --listen is INVALID_ARGUMENT before anything is made', async () => {
    const dataDir = join(dir, 'never-made');
    const err = await runServer({ listen: 'nowhere', dataDir, localAgent: false, logLevel: 'silent', sshListen: 'off' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'listen' });
    expect(existsSync(dataDir)).toBe(false);
  });

  it('a data dir it cannot create is FAILED_PRECONDITION on dataDir', async () => {
    const file = join(dir, 'plain-file');
    await writeFile(file, '');
    const err = await runServer({ listen: '127.0.0.1:1', dataDir: join(file, 'data'), localAgent: false, logLevel: 'silent', sshListen: 'off' }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'FAILED_PRECONDITION', field: 'dataDir' });
    expect((err as BerthError).message).toContain('ENOTDIR');
  });
});
