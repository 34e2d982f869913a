/**
 * The sharing policy, kept as the `sharing` field of the ServerSettings resource
 * (config_state.settings_json, docs/config.md), so `berth sharing-policy set` and
 * `berth config push` write one store and each bumps the config revision (its trigger).
 */
import { sql } from 'kysely';
import type { Store } from '../store/open.js';
import { SHARING_POLICIES, type SharingPolicy } from './permissions.js';

/** The policy of a server nobody has set one on. */
export const DEFAULT_SHARING_POLICY: SharingPolicy = 'everyone';

/** The stored sharing policy (the default when unset or unreadable). */
export async function readSharingPolicy(store: Store): Promise<SharingPolicy> {
  const row = await store.db.selectFrom('config_state').select('settings_json').where('id', '=', 1).executeTakeFirst();
  const value = row ? (JSON.parse(row.settings_json) as { sharing?: unknown }).sharing : undefined;
  return typeof value === 'string' && (SHARING_POLICIES as readonly string[]).includes(value) ? (value as SharingPolicy) : DEFAULT_SHARING_POLICY;
}

/** Stores the sharing policy, leaving the other settings as they are (one statement, so no write in between is lost). */
export async function writeSharingPolicy(store: Store, policy: SharingPolicy): Promise<void> {
  await store.db
    .updateTable('config_state')
    .set({ settings_json: sql<string>`json_set(settings_json, '$.sharing', ${policy})` })
    .where('id', '=', 1)
    .execute();
}
