/**
 * NODE_EXTRA_CA_CERTS through the CLI: bin/berth keeps the file from Node's start-up (where it
 * costs tens of milliseconds per command) and the CLI reads it on its first https connection.
 * Against a real --tls server on loopback with no CA pinned: the extra file decides whether
 * HTTP requests and the exec WebSocket verify, and a command that dials nothing never reads it.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { runCli, TestServer } from './harness.js';

let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await TestServer.start({ tls: true });
  dir = await mkdtemp(join(tmpdir(), 'berth-e2e-extra-ca-'));
});

afterAll(async () => {
  await server?.destroy();
});

/** The CLI pointed at the server with no CA pinned, so only the default roots (and NODE_EXTRA_CA_CERTS) decide. */
function cli(args: string[], extraCa: string) {
  return runCli(args, {
    env: {
      BERTH_SERVER: server.url,
      BERTH_TOKEN: server.token,
      BERTH_CONFIG: join(dir, 'none.json'),
      BERTH_CA_FILE: '',
      BERTH_CA_FINGERPRINT: '',
      NODE_EXTRA_CA_CERTS: extraCa,
    },
  });
}

describe('NODE_EXTRA_CA_CERTS, read when the CLI first dials https', () => {
  it('trusts a server whose CA is in the extra file, for requests and for the exec WebSocket', async () => {
    const file = join(dir, 'server-ca.pem');
    await writeFile(file, await server.caPem());
    const ls = await cli(['ws', 'ls', '--json'], file);
    expect(ls.stderr).toBe('');
    expect(ls.code).toBe(0);
    expect(JSON.parse(ls.stdout).workspaces).toEqual([]);
    // The WebSocket handshake verified: the server itself answered that there is no such workspace.
    const exec = await cli(['ws', 'exec', 'nothing-here', '--', 'true'], file);
    expect(exec.stderr).toContain('NOT_FOUND');
    expect(exec.code).toBe(EXIT.NOT_FOUND);
  });

  it('refuses the same server when the extra file holds other CAs only', async () => {
    const file = join(dir, 'other-ca.pem');
    // Node's bundled roots: well-formed certificates, none of which signed the server's.
    const { rootCertificates } = await import('node:tls');
    await writeFile(file, rootCertificates.slice(0, 3).join('\n'));
    for (const args of [
      ['ws', 'ls'],
      ['ws', 'exec', 'nothing-here', '--', 'true'],
    ]) {
      const r = await cli(args, file);
      expect(r.stderr).toContain('cannot verify');
      expect(r.code).toBe(EXIT.AUTH);
    }
  });

  it('reads the file only when a command dials https: help never warns about a missing one, a request does', async () => {
    const missing = join(dir, 'missing.pem');
    const help = await cli(['ws', '--help'], missing);
    expect(help.code).toBe(0);
    expect(help.stderr).toBe('');
    const ls = await cli(['ws', 'ls'], missing);
    expect(ls.stderr).toContain(`Ignoring extra certs from \`${missing}\``);
    expect(ls.stderr).toContain('cannot verify');
  });

  it('leaves the variable to Node when NODE_OPTIONS picks another root store', async () => {
    const missing = join(dir, 'missing.pem');
    // With OpenSSL's own store the CLI could not rebuild Node's default trust, so Node reads the file at start.
    const help = await runCli(['ws', '--help'], { env: { NODE_EXTRA_CA_CERTS: missing, NODE_OPTIONS: '--use-openssl-ca' } });
    expect(help.code).toBe(0);
    expect(help.stderr).toContain(`Ignoring extra certs from \`${missing}\``);
  });
});
