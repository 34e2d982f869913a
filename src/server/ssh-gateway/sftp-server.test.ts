/**
 * The in-gateway SFTP server against the real OpenSSH `sftp` client (`sftp -D` speaks SFTP
 * over a pipe, here a TCP connection through `busybox nc`), with file operations running as
 * local processes: put/get byte for byte, ls, mkdir, rename, rm, and error statuses.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_WORKSPACE, localHub } from './local-hub.test-support.js';
import { sessionHub } from './sftp.js';
import { WorkspaceFiles } from './sftp-files.js';
import { READ_WINDOW } from './sftp-handles.js';
import { serveFiles, sftpOverStream } from './sftp-server.js';

let dir: string;
let home: string;
let server: Server;
let port: number;
let hub: ReturnType<typeof localHub>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-sftp-'));
  home = join(dir, 'home');
  await mkdir(home);
  hub = localHub(home, 3);
  server = createServer((socket) => {
    // As the gateway serves it: every file operation a session of the workspace, starting in the home.
    void serveFiles(sftpOverStream(socket), new WorkspaceFiles(sessionHub({ hub }, null), LOCAL_WORKSPACE), () => {}).then(() => socket.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

function sftp(batch: string, verbose = false): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const args = ['-D', `busybox nc 127.0.0.1 ${port}`, '-b', '-', ...(verbose ? ['-vvv'] : [])];
    const child = execFile('sftp', args, { cwd: dir, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
    child.stdin!.end(batch);
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('in-gateway SFTP server', () => {
  it('puts and gets a file larger than two read windows byte for byte', async () => {
    const data = randomBytes(READ_WINDOW * 2 + 12345);
    await writeFile(join(dir, 'big.bin'), data);
    const r = await sftp('put big.bin up.bin\nget up.bin down.bin\n', true);
    expect(r.code, r.out.slice(-2000)).toBe(0);
    // A short READ answer before the end of the file makes OpenSSH re-request out of order and
    // truncate the download; the only short answer allowed is the one at the end.
    expect(r.out).not.toMatch(/truncating at/);
    const shorts = [...r.out.matchAll(/Short data block, re-requesting (\d+)/g)].map((m) => Number(m[1]));
    expect(shorts.filter((at) => at < data.length)).toEqual([]);
    expect(sha(await readFile(join(home, 'up.bin')))).toBe(sha(data));
    expect(sha(await readFile(join(dir, 'down.bin')))).toBe(sha(data));
  });

  it('lists, makes and removes directories, renames and removes files', async () => {
    await writeFile(join(dir, 'a.txt'), 'hello\n');
    const r = await sftp('mkdir sub\nput a.txt sub/a.txt\nrename sub/a.txt sub/b.txt\nls -l sub\npwd\n');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/-rw.* 6 .* b\.txt/);
    expect(r.out).toContain(`Remote working directory: ${home}`);
    expect(await readFile(join(home, 'sub/b.txt'), 'utf8')).toBe('hello\n');
    const r2 = await sftp('rm sub/b.txt\nrmdir sub\n');
    expect(r2.code, r2.out).toBe(0);
    await expect(stat(join(home, 'sub'))).rejects.toThrow();
  });

  it('refuses to rename across file systems instead of copying (rename(2) semantics)', async () => {
    const files = new WorkspaceFiles({ hub }, LOCAL_WORKSPACE);
    await expect(files.rename('/proc/version', join(home, 'version'))).rejects.toThrow(/another file system/);
    await expect(stat(join(home, 'version'))).rejects.toThrow();
    await expect(files.rename(join(home, 'nope'), join(home, 'x'))).rejects.toThrow(/No such file/);
    await writeFile(join(home, 'same.txt'), 'x');
    await files.rename(join(home, 'same.txt'), join(home, 'moved.txt'));
    expect(await readFile(join(home, 'moved.txt'), 'utf8')).toBe('x');
  });

  it('answers missing files with "No such file" and keeps serving', async () => {
    const r = await sftp('-get nope.bin x.bin\n-rm nope\nls\n');
    expect(r.out).toMatch(/not found|No such file/);
    expect(r.code).toBe(0);
  });
});
