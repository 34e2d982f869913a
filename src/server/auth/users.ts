/**
 * Users and their API tokens. On first start the server makes an admin and writes its token
 * to <data-dir>/admin-token (mode 0600), the only place the plain token ever exists.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { User } from '../../api/index.js';
import type { Store } from '../store/open.js';
import { hashSecret, newSecret, SECRET_PREFIX } from './secrets.js';

/** Creates the first admin if there are no users; returns the token file it wrote, or null. */
export async function ensureAdmin(store: Store, tokenFile: string): Promise<string | null> {
  const existing = await store.db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  if (existing) return null;
  const now = new Date().toISOString();
  const userId = randomUUID();
  const token = newSecret(SECRET_PREFIX.apiToken);
  await store.db.transaction().execute(async (tx) => {
    await tx.insertInto('users').values({ id: userId, name: 'admin', role: 'admin', created_at: now }).execute();
    await tx
      .insertInto('api_tokens')
      .values({ id: randomUUID(), user_id: userId, name: 'bootstrap', token_hash: hashSecret(token), created_at: now, last_used_at: null, revoked_at: null })
      .execute();
  });
  await writeFile(tokenFile, token + '\n', { mode: 0o600 });
  return tokenFile;
}

/** The user a bearer token belongs to, or null when it is unknown or revoked. */
export async function userForToken(store: Store, token: string): Promise<User | null> {
  const row = await store.db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .select(['users.id as id', 'users.name as name', 'users.role as role', 'api_tokens.revoked_at as revoked_at'])
    .where('api_tokens.token_hash', '=', hashSecret(token))
    .executeTakeFirst();
  if (!row || row.revoked_at) return null;
  return { id: row.id, name: row.name, role: row.role };
}
