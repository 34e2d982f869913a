import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePublicKey } from './ssh-keys.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-keys-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parsePublicKey', () => {
  it('computes the same fingerprint as ssh-keygen for ed25519, ecdsa and rsa keys', async () => {
    for (const [type, bits] of [
      ['ed25519', ''],
      ['ecdsa', '256'],
      ['rsa', '2048'],
    ]) {
      const file = join(dir, `k-${type}`);
      execFileSync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', bits] : []), '-N', '', '-C', 'me@test', '-f', file]);
      const expected = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`])
        .toString()
        .split(' ')[1];
      const parsed = parsePublicKey(await readFile(`${file}.pub`, 'utf8'));
      expect(parsed.fingerprint).toBe(expected);
      expect(parsed.line.endsWith('me@test')).toBe(true);
    }
  });

  it('refuses private keys and garbage with INVALID_ARGUMENT on publicKey', () => {
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    expect(() => parsePublicKey(pair.private)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'publicKey', message: expect.stringMatching(/private key/) }),
    );
    expect(() => parsePublicKey('ssh-ed25519 AAAAnotakey')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'publicKey' }));
    expect(() => parsePublicKey('')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
