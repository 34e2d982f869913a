/**
 * Users and their API tokens. On first start the server makes an admin and writes its token
 * to <data-dir>/admin-token (mode 0600), the only place that plain token ever exists.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { User } from '../../api/index.js';
import { userToApi } from '../convert/to-api.js';
import type { Store } from '../store/open.js';
import { hashSecret, newSecret, SECRET_PREFIX } from './secrets.js';

/** last_used_at is refreshed at most this often, so reads do not turn into a write each. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** Creates the first admin if there are no users; returns the token file it wrote, or null. */
export async function ensureAdmin(store: Store, tokenFile: string): Promise<string | null> {
  const existing = await store.db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  if (existing) return null;
  const now = new Date().toISOString();
  const userId = randomUUID();
  const token = newSecret(SECRET_PREFIX.apiToken);
  await store.db.transaction().execute(async (tx) => {
    await tx.insertInto('users').values({ id: userId, name: 'admin', role: 'admin', email: null, created_at: now }).execute();
    await tx
      .insertInto('api_tokens')
      .values({
        id: randomUUID(),
        user_id: userId,
        name: 'bootstrap',
        token_hash: hashSecret(token),
        created_at: now,
        last_used_at: null,
        revoked_at: null,
        expires_at: null,
      })
      .execute();
  });
  await writeFile(tokenFile, token + '\n', { mode: 0o600 });
  return tokenFile;
}

/** The user a bearer token belongs to, or null when it is unknown, revoked or expired. Checked on every request, so a revocation bites at once. */
export async function userForToken(store: Store, token: string): Promise<User | null> {
  const row = await store.db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .selectAll('users')
    .select(['api_tokens.id as token_id', 'api_tokens.revoked_at', 'api_tokens.expires_at', 'api_tokens.last_used_at'])
    .where('api_tokens.token_hash', '=', hashSecret(token))
    .executeTakeFirst();
  const now = new Date();
  if (!row || row.revoked_at || row.disabled_at || (row.expires_at && row.expires_at <= now.toISOString())) return null;
  if (!row.last_used_at || Date.parse(row.last_used_at) < now.getTime() - LAST_USED_RESOLUTION_MS) {
    await store.db.updateTable('api_tokens').set({ last_used_at: now.toISOString() }).where('id', '=', row.token_id).execute();
  }
  return userToApi(row);
}
