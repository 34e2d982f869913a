/**
 * The SSH private key a command sends to the server for one operation on a machine
 * (`node add`, `node rm`): read here, never stored by the server (docs/security.md).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, MAX_PRIVATE_KEY_BYTES } from '../api/index.js';
import type { CliContext } from './context.js';

/** The identity file's contents: --identity, else ~/.ssh/id_ed25519, else berth's own ~/.ssh/berth_ed25519. */
export async function readIdentity(ctx: CliContext, file: string | undefined): Promise<{ path: string; key: string }> {
  const candidates = file ? [file] : [join(ctx.io.home, '.ssh', 'id_ed25519'), join(ctx.io.home, '.ssh', 'berth_ed25519')];
  for (const path of candidates) {
    let key: string;
    try {
      key = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !file) continue;
      throw new BerthError(
        'INVALID_ARGUMENT',
        `Cannot read the SSH identity ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a readable private key with --identity.`,
        { field: 'identity' },
      );
    }
    if (Buffer.byteLength(key) > MAX_PRIVATE_KEY_BYTES)
      throw new BerthError('INVALID_ARGUMENT', `${path} is larger than any SSH private key; give the private key file with --identity.`, { field: 'identity' });
    return { path, key };
  }
  throw new BerthError(
    'NOT_FOUND',
    `No SSH identity found (looked for ${candidates.join(' and ')}); give the key that logs in to the machine with --identity FILE.`,
    { field: 'identity' },
  );
}
