/**
 * The user's berth SSH key on disk: `~/.ssh/berth_ed25519` (OpenSSH format, mode 0600) and
 * its `.pub`. berth generates it when asked and never overwrites an existing file.
 */
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../api/index.js';

/** Where berth keeps the user's key. */
export function berthKeyPath(home: string): string {
  return join(home, '.ssh', 'berth_ed25519');
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The key's public line, generating the pair first when `generate` and there is none. */
export async function ensureBerthKey(home: string, opts: { generate: boolean }): Promise<{ path: string; publicKey: string; created: boolean }> {
  const path = berthKeyPath(home);
  if (await exists(path)) {
    if (!(await exists(path + '.pub'))) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `${path} exists but ${path}.pub does not; recreate the .pub with \`ssh-keygen -y -f ${path} > ${path}.pub\`.`,
        { field: 'key' },
      );
    }
    return { path, publicKey: (await readFile(path + '.pub', 'utf8')).trim(), created: false };
  }
  if (!opts.generate) throw new BerthError('NOT_FOUND', `No berth key at ${path}; create one with \`berth ssh-key generate\`.`, { field: 'key' });
  if (await exists(path + '.pub')) {
    throw new BerthError('ALREADY_EXISTS', `${path}.pub exists without its private key; move it away so berth never overwrites a file.`, { field: 'key' });
  }
  const comment = `berth:${safeUser()}@${hostname()}`;
  const pair = await generateValidPair(comment);
  await mkdir(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  // 'wx' fails if the file appeared meanwhile: never overwrite a key.
  await writeFile(path, pair.private, { mode: 0o600, flag: 'wx' });
  await writeFile(path + '.pub', pair.public + '\n', { mode: 0o644, flag: 'wx' });
  return { path, publicKey: pair.public, created: true };
}

/**
 * ssh2's generator now and then (about 1 in 200) emits an ed25519 key that its own parser
 * and OpenSSH refuse; check each pair and make another rather than hand out a broken key.
 */
async function generateValidPair(comment: string): Promise<{ private: string; public: string }> {
  // ssh2 (with its native and WebAssembly parts) loads only when a key is made.
  const { default: ssh2 } = await import('ssh2');
  for (let attempt = 0; attempt < 10; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    const priv = ssh2.utils.parseKey(pair.private);
    const pub = ssh2.utils.parseKey(pair.public);
    if (
      !(priv instanceof Error) &&
      !(pub instanceof Error) &&
      Buffer.compare((Array.isArray(priv) ? priv[0] : priv).getPublicSSH(), (Array.isArray(pub) ? pub[0] : pub).getPublicSSH()) === 0
    ) {
      return pair;
    }
  }
  throw new BerthError(
    'INTERNAL',
    'Could not generate a valid ed25519 key; run `ssh-keygen -t ed25519 -f ~/.ssh/berth_ed25519` and then `berth ssh-key add ~/.ssh/berth_ed25519.pub`.',
  );
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'user';
  }
}
