import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
});
