import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BerthError } from '../../api/index.js';
import { generateEd25519OpenSsh, loadOrCreateHostKey } from './host-key.js';

const dir = await mkdtemp(join(tmpdir(), 'berth-hostkey-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('gateway host key', () => {
  it('writes an OpenSSH key that ssh-keygen reads, with the same fingerprint', async () => {
    const file = join(dir, 'k1');
    await writeFile(file, generateEd25519OpenSsh('test'), { mode: 0o600 });
    const key = await loadOrCreateHostKey(file);
    const printed = execFileSync('ssh-keygen', ['-lf', file], { encoding: 'utf8' });
    expect(printed).toContain(key.fingerprint);
    expect(execFileSync('ssh-keygen', ['-yf', file], { encoding: 'utf8' })).toContain(key.publicKey);
  });

  it('generates once (0600) and loads the same key afterwards', async () => {
    const file = join(dir, 'k2');
    const a = await loadOrCreateHostKey(file);
    const b = await loadOrCreateHostKey(file);
    expect(b.fingerprint).toBe(a.fingerprint);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(a.publicKey).toMatch(/^ssh-ed25519 AAAA/);
  });

  it('refuses a damaged key file instead of replacing it, and says what to do', async () => {
    const file = join(dir, 'k3');
    await writeFile(file, 'not a key at all', { mode: 0o600 });
    const err = await loadOrCreateHostKey(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BerthError);
    expect(err).toMatchObject({ code: 'FAILED_PRECONDITION', field: 'dataDir' });
    expect((err as BerthError).message).toMatch(/restore it from a backup, or remove it/);
    // The damaged file is left for the admin to look at.
    expect(await readFile(file, 'utf8')).toBe('not a key at all');
  });

  it('refuses a key it cannot write with FAILED_PRECONDITION naming the reason', async () => {
    const notDir = join(dir, 'plain-file');
    await writeFile(notDir, '');
    const err = await loadOrCreateHostKey(join(notDir, 'key')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FAILED_PRECONDITION', field: 'dataDir' });
    expect((err as BerthError).message).toContain('ENOTDIR');
  });
});
