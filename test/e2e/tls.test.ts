/**
 * TLS between machines, through the CLI and real processes on loopback: a server with --tls,
 * agents joining with the one-string token (CA pinned by fingerprint), a tampered fingerprint
 * refused before anything is created, the CLI's login pinning and a replaced CA refused,
 * plain HTTP to a TLS server, the listen rules, and node credential rotation and revocation.
 */
import { mkdtemp, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { formatConnectString, parseConnectString } from '../../src/api/index.js';
import { BIN, docker, dockerLeftovers, freePort, getJson, type Proc, runCli, runProgram, startAgent, TestServer, uniqueName, waitFor } from './harness.js';

let server: TestServer;
const agents: Proc[] = [];

beforeAll(async () => {
  server = await TestServer.start({ tls: true, heartbeatMs: 500 });
});

afterAll(async () => {
  for (const a of agents) await a.stop();
  await server?.destroy();
});

async function nodeNames(): Promise<string[]> {
  return (await server.json<any>(['node', 'ls'])).nodes.map((n: { name: string }) => n.name);
}

async function mintJoinString(): Promise<{ joinToken: string; caFingerprint: string }> {
  return server.json(['node', 'join-token', '--ttl', '5m']);
}

/** Opens the agent socket with a credential; resolves with the HTTP status of a refusal, or 101 when it opened. */
async function dialWith(credential: string): Promise<number> {
  const ca = await server.caPem();
  return new Promise((resolve) => {
    const ws = new WebSocket(`${server.url.replace('https', 'wss')}/api/v1/agent/connect`, { headers: { authorization: `Bearer ${credential}` }, ca });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', () => resolve(-1));
  });
}

async function credentialIn(stateDir: string): Promise<string> {
  return JSON.parse(await readFile(join(stateDir, 'credential.json'), 'utf8')).credential;
}

describe('TLS between machines', () => {
  it('serves HTTPS on loopback with --tls, hands out its CA, and the fingerprint is in the join token', async () => {
    expect(server.url.startsWith('https://127.0.0.1:')).toBe(true);
    const ca = await getJson(`${server.url}/api/v1/ca`, await server.caPem());
    expect(ca.status).toBe(200);
    expect(ca.body.certificate).toBe(await server.caPem());
    const { joinToken, caFingerprint } = await mintJoinString();
    expect(caFingerprint).toBe(ca.body.fingerprint);
    const parsed = parseConnectString(joinToken, 'join', 'join-token');
    expect(parsed).toMatchObject({ server: server.url, fingerprint: caFingerprint });
    for (const f of ['ca-key.pem', 'server-key.pem']) expect((await stat(join(server.dataDir, 'tls', f))).mode & 0o777).toBe(0o600);
  });

  it('refuses a join token whose fingerprint was changed, before anything is created; the real one then joins', async () => {
    const { joinToken } = await mintJoinString();
    const parsed = parseConnectString(joinToken, 'join', 'join-token');
    const forged = formatConnectString({ ...parsed, fingerprint: `sha256:${'ab'.repeat(32)}` });
    const bad = await startAgent(server, { name: 'forged', joinToken: forged, noServerFlag: true });
    expect(await bad.proc.exited).toBe(5);
    expect(bad.proc.output).toContain('FAILED_PRECONDITION');
    expect(bad.proc.output).toContain(`but the join token pins sha256:${'ab'.repeat(32)}`);
    expect(await nodeNames()).not.toContain('forged');
    await expect(stat(join(bad.stateDir, 'credential.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(join(bad.stateDir, 'ca.pem'))).rejects.toMatchObject({ code: 'ENOENT' });

    // The token was never sent, so it is still unused: the untampered string joins with it.
    const good = await startAgent(server, { name: 'forged', joinToken, noServerFlag: true, stateDir: bad.stateDir });
    agents.push(good.proc);
    await server.waitNodeOnline('forged');
    expect(await readFile(join(bad.stateDir, 'ca.pem'), 'utf8')).toBe(await server.caPem());
  });

  it('a bare token with an https --server is refused: nothing would pin the CA', async () => {
    const { token } = await server.json<{ token: string }>(['node', 'join-token', '--ttl', '5m']);
    const bare = await startAgent(server, { name: 'bare', joinToken: token });
    expect(await bare.proc.exited).toBe(5);
    expect(bare.proc.output).toContain('one-string token');
    expect(await nodeNames()).not.toContain('bare');
  });

  it("rotates a connected node's credential: the agent keeps working, also after a restart, and the old one is refused", async () => {
    const { joinToken } = await mintJoinString();
    const first = await startAgent(server, { name: 'rotor', joinToken, noServerFlag: true });
    await server.waitNodeOnline('rotor');
    const old = await credentialIn(first.stateDir);
    expect(await dialWith(old)).toBe(101);

    const rotated = await server.json<{ node: string }>(['node', 'rotate-credential', 'rotor']);
    expect(rotated.node).toBe('rotor');
    const fresh = await credentialIn(first.stateDir);
    expect(fresh).not.toBe(old);
    expect(await dialWith(old)).toBe(401);
    // Still serving requests over its socket after the rotation.
    expect((await server.cli(['image', 'ls'])).code).toBe(0);
    await server.waitNodeOnline('rotor');

    // Restarted from its state dir, it connects with the new credential.
    await first.proc.stop();
    const again = await startAgent(server, { name: 'rotor', stateDir: first.stateDir, noServerFlag: true });
    agents.push(again.proc);
    await waitFor('rotor reconnected', async () => again.proc.output.includes('connected to the server'));
    await server.waitNodeOnline('rotor');

    const audit = await server.json<any>(['audit', 'ls']);
    expect(JSON.stringify(audit)).toContain('nodeRotateCredentialPost');
  });

  it('rotate-credential of a node that is not connected is NODE_OFFLINE', async () => {
    const { joinToken } = await mintJoinString();
    const a = await startAgent(server, { name: 'sleeper', joinToken, noServerFlag: true });
    await server.waitNodeOnline('sleeper');
    await a.proc.stop();
    const before = await credentialIn(a.stateDir);
    await waitFor(
      'sleeper disconnected',
      async () => {
        const r = await server.cli(['node', 'rotate-credential', 'sleeper']);
        return r.code === 6 && r.stderr.includes('NODE_OFFLINE');
      },
      15_000,
    );
    expect(await credentialIn(a.stateDir)).toBe(before);
    expect(await dialWith(before)).toBe(101);
    expect((await server.cli(['node', 'rm', 'sleeper'])).code).toBe(0);
  });

  it('node rm revokes first: the socket closes, the agent stops redialling with a clear line, and cannot come back', async () => {
    const { joinToken } = await mintJoinString();
    const a = await startAgent(server, { name: 'doomed', joinToken, noServerFlag: true });
    await server.waitNodeOnline('doomed');
    const credential = await credentialIn(a.stateDir);
    const rm = await server.cli(['node', 'rm', 'doomed']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toContain('credential is revoked');
    // The agent ends by itself (exit 4, UNAUTHENTICATED) rather than redialling forever.
    expect(await waitFor('agent exit', async () => (a.proc.child.exitCode !== null ? String(a.proc.child.exitCode) : null), 15_000)).toBe('4');
    expect(a.proc.output).toContain('will not redial');
    expect(await nodeNames()).not.toContain('doomed');
    expect(await dialWith(credential)).toBe(401);

    // Restarted from its state dir, it is refused (401) and stops again.
    const back = await startAgent(server, { name: 'doomed', stateDir: a.stateDir, noServerFlag: true });
    expect(await back.proc.exited).toBe(4);
    expect(back.proc.output).toContain('refused this node credential');
    expect((await server.json<any>(['audit', 'ls'])).entries.some((e: any) => e.action === 'nodeDelete' && e.target === 'doomed' && e.outcome === 'ok')).toBe(
      true,
    );
  });

  it('node rm refuses while a workspace is on the node; --force forgets it and leaves the container to the admin', async () => {
    const { joinToken } = await mintJoinString();
    const a = await startAgent(server, { name: 'busy', joinToken, noServerFlag: true });
    agents.push(a.proc);
    const node = await server.waitNodeOnline('busy');
    const built = await server.cli(['image', 'build', 'base', '--from', 'busybox', '--node', 'busy']);
    expect(built.code, built.stderr).toBe(0);
    const ws = uniqueName('pinned');
    const created = await server.cli(['ws', 'create', ws, '--node', 'busy']);
    expect(created.code, created.stderr).toBe(0);
    // Exec over the TLS agent socket works like over plain HTTP.
    const exec = await server.cli(['ws', 'exec', ws, '--', 'echo', 'over-tls']);
    expect(exec.stdout).toContain('over-tls');

    const refused = await server.cli(['node', 'rm', 'busy']);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain(ws);
    await server.waitNodeOnline('busy');

    const forced = await server.cli(['node', 'rm', 'busy', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain(`Forgot its workspaces: ${ws}`);
    expect((await server.json<any>(['ws', 'ls'])).workspaces.map((w: any) => w.name)).not.toContain(ws);
    expect(await waitFor('agent exit', async () => (a.proc.child.exitCode !== null ? String(a.proc.child.exitCode) : null), 15_000)).toBe('4');
    // As documented, the container is left on the machine; the test removes it itself.
    const left = await docker.listContainers({ all: true, filters: { label: [`berth.node=${node.id}`] } });
    expect(left.length).toBeGreaterThan(0);
    for (const c of left) await docker.getContainer(c.Id).remove({ force: true, v: true });
    for (const v of (await docker.listVolumes({ filters: { label: [`berth.node=${node.id}`] } })).Volumes ?? []) await docker.getVolume(v.Name).remove();
    expect(await dockerLeftovers({ node: node.id })).toEqual([]);
  });

  it('node rm of an unknown node is NOT_FOUND', async () => {
    const r = await server.cli(['node', 'rm', 'no-such-node']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('NOT_FOUND');
  });

  it('plain HTTP to the TLS server fails with a message that says to use https', async () => {
    const home = await mkdtemp(join(tmpdir(), 'berth-e2e-home-'));
    const r = await runCli(['login', server.url.replace('https:', 'http:'), '--token', server.token], {
      env: { HOME: home, BERTH_CONFIG: join(home, 'c.json') },
    });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`use ${server.url}`);
  });

  it('login pins the CA: refused without a fingerprint when not on a terminal, refused with a wrong one, kept with the right one', async () => {
    const home = await mkdtemp(join(tmpdir(), 'berth-e2e-home-'));
    const env = { HOME: home, BERTH_CONFIG: join(home, 'c.json') };
    const fingerprint = (await getJson(`${server.url}/api/v1/ca`, await server.caPem())).body.fingerprint as string;

    const none = await runCli(['login', server.url, '--token', server.token], { env });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`--fingerprint ${fingerprint}`);

    const wrong = `sha256:${'cd'.repeat(32)}`;
    const bad = await runCli(['login', server.url, '--token', server.token, '--fingerprint', wrong], { env });
    expect(bad.code).toBe(4);
    expect(bad.stderr).toContain(fingerprint);
    expect(bad.stderr).toContain(wrong);
    await expect(stat(env.BERTH_CONFIG)).rejects.toMatchObject({ code: 'ENOENT' });

    // openssl's spelling (upper case, colons) is accepted.
    const openssl = `sha256:${fingerprint.slice(7).toUpperCase().match(/../g)!.join(':')}`;
    const ok = await runCli(['login', server.url, '--token', server.token, '--fingerprint', openssl, '--json'], { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).caFingerprint).toBe(fingerprint);
    const saved = JSON.parse(await readFile(env.BERTH_CONFIG, 'utf8'));
    expect(saved).toMatchObject({ server: server.url, caFingerprint: fingerprint, caCert: await server.caPem() });
    const ls = await runCli(['ws', 'ls'], { env });
    expect(ls.code, ls.stderr).toBe(0);

    // An invite carries the fingerprint: registering from it needs no question.
    const invite = await runCli(['user', 'invite', 'carol@example.com', '--json'], { env });
    expect(invite.code, invite.stderr).toBe(0);
    const connect = JSON.parse(invite.stdout).connect as string;
    expect(parseConnectString(connect, 'invite', 'invite').fingerprint).toBe(fingerprint);
    const carolHome = await mkdtemp(join(tmpdir(), 'berth-e2e-home-'));
    const carolEnv = { HOME: carolHome, BERTH_CONFIG: join(carolHome, 'c.json') };
    const reg = await runCli(['register', '--invite', connect, '--name', 'carol', '--no-ssh-key'], { env: carolEnv });
    expect(reg.code, reg.stderr).toBe(0);
    expect((await runCli(['whoami', '--json'], { env: carolEnv })).stdout).toContain('"carol"');

    // BERTH_CA_FINGERPRINT alone (no login file) works, and a wrong one is refused.
    const envOnly = { HOME: home, BERTH_CONFIG: join(home, 'none.json'), BERTH_SERVER: server.url, BERTH_TOKEN: server.token };
    expect((await runCli(['ws', 'ls'], { env: { ...envOnly, BERTH_CA_FINGERPRINT: fingerprint } })).code).toBe(0);
    const envWrong = await runCli(['ws', 'ls'], { env: { ...envOnly, BERTH_CA_FINGERPRINT: wrong } });
    expect(envWrong.code).toBe(4);
    expect(envWrong.stderr).toContain(fingerprint);
    const unpinned = await runCli(['ws', 'ls'], { env: envOnly });
    expect(unpinned.code).toBe(4);
    expect(unpinned.stderr).toContain('no CA is pinned');
  });
});

describe('login on a terminal', () => {
  it('shows the fingerprint and pins it after y; N saves nothing', async () => {
    const home = await mkdtemp(join(tmpdir(), 'berth-e2e-home-'));
    const env = { HOME: home, BERTH_CONFIG: join(home, 'c.json'), NO_COLOR: '1' };
    const fingerprint = (await getJson(`${server.url}/api/v1/ca`, await server.caPem())).body.fingerprint as string;
    // `script` gives the CLI a real terminal, so it asks instead of refusing.
    const login = `${process.execPath} ${BIN} login ${server.url} --token ${server.token}`;
    const no = await runProgram('script', ['-qec', login, '/dev/null'], { input: 'n\n', env });
    expect(no.stdout).toContain(fingerprint);
    expect(no.stdout).toContain('Not trusted');
    await expect(stat(env.BERTH_CONFIG)).rejects.toMatchObject({ code: 'ENOENT' });
    const yes = await runProgram('script', ['-qec', login, '/dev/null'], { input: 'y\n', env });
    expect(yes.stdout).toContain(`CA ${fingerprint} pinned`);
    expect(JSON.parse(await readFile(env.BERTH_CONFIG, 'utf8')).caFingerprint).toBe(fingerprint);
  });
});

describe('listen rules', () => {
  it('plain HTTP on a wildcard address is refused without --insecure-http, allowed with it; the default there is HTTPS, local agent included', async () => {
    const port = await freePort();
    const data = await mkdtemp(join(tmpdir(), 'berth-e2e-server-'));
    const refused = await runCli(['server', '--listen', `0.0.0.0:${port}`, '--no-tls', '--data-dir', data, '--ssh-listen', 'off'], { timeoutMs: 30_000 });
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('FAILED_PRECONDITION');
    expect(refused.stderr).toMatch(/insecure-http/);

    const plain = await TestServer.start({ listenHost: '0.0.0.0', extraArgs: ['--insecure-http'] });
    try {
      expect(plain.url.startsWith('http://127.0.0.1:')).toBe(true);
      expect((await plain.cli(['whoami'])).code).toBe(0);
      expect(plain.proc!.output).toContain('serving plain HTTP on a non-loopback address');
    } finally {
      await plain.destroy();
    }

    const tls = await TestServer.start({ listenHost: '0.0.0.0', tls: true, localAgent: true });
    try {
      // The certificate names 127.0.0.1 even for a wildcard listen, so loopback clients verify it.
      expect((await tls.cli(['whoami'])).code).toBe(0);
      // The in-process agent joins over the same TLS listener.
      await tls.waitNodeOnline();
    } finally {
      await tls.destroy();
    }
  });
});

describe('a lean CLI', () => {
  it('loads no TLS, https or crypto module for a command against a plain-HTTP server', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-e2e-probe-'));
    const probe = join(dir, 'probe.mjs');
    await writeFile(
      probe,
      "process.on('exit', () => process.stderr.write('LOADED ' + process.moduleLoadList.filter((m) => /tls|https|crypto/.test(m)).join(',') + '\\n'));\n",
    );
    const port = await freePort();
    const env = { BERTH_SERVER: `http://127.0.0.1:${port}`, BERTH_TOKEN: 'x', BERTH_CONFIG: join(dir, 'none.json') };
    const plain = await runProgram(process.execPath, ['--import', probe, BIN, 'ws', 'ls'], { env });
    expect(plain.stderr).toMatch(/^LOADED $/m);
    // The probe does see them when the server is https, so the check above can fail.
    const https = await runProgram(process.execPath, ['--import', probe, BIN, 'ws', 'ls'], { env: { ...env, BERTH_SERVER: `https://127.0.0.1:${port}` } });
    expect(https.stderr).toMatch(/^LOADED .*NativeModule https/m);
  });
});

describe('a replaced CA', () => {
  it('is refused by a CLI that pinned the old one, naming both fingerprints', async () => {
    const home = await mkdtemp(join(tmpdir(), 'berth-e2e-home-'));
    const env = { HOME: home, BERTH_CONFIG: join(home, 'c.json') };
    const old = (await getJson(`${server.url}/api/v1/ca`, await server.caPem())).body.fingerprint as string;
    expect((await runCli(['login', server.url, '--token', server.token, '--fingerprint', old], { env })).code).toBe(0);

    await server.proc!.stop();
    await rename(join(server.dataDir, 'tls'), join(server.dataDir, 'tls-old'));
    await server.launch();
    const now = (await getJson(`${server.url}/api/v1/ca`, await server.caPem())).body.fingerprint as string;
    expect(now).not.toBe(old);

    const r = await runCli(['ws', 'ls'], { env });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(old);
    expect(r.stderr).toContain(now);
    expect(r.stderr).toContain(`berth login ${server.url} --fingerprint ${now}`);
  });
});
