/** Server settings an admin changes at run time (table server_settings): the sharing policy. */
import type { Store } from '../store/open.js';
import { SHARING_POLICIES, type SharingPolicy } from './permissions.js';

const POLICY_KEY = 'sharing_policy';
/** The policy of a server nobody has set one on. */
export const DEFAULT_SHARING_POLICY: SharingPolicy = 'everyone';

/** The stored sharing policy (the default when unset or unreadable). */
export async function readSharingPolicy(store: Store): Promise<SharingPolicy> {
  const row = await store.db.selectFrom('server_settings').select('value').where('key', '=', POLICY_KEY).executeTakeFirst();
  return row && (SHARING_POLICIES as readonly string[]).includes(row.value) ? (row.value as SharingPolicy) : DEFAULT_SHARING_POLICY;
}

/** Stores the sharing policy. */
export async function writeSharingPolicy(store: Store, policy: SharingPolicy, by: string): Promise<void> {
  const now = new Date().toISOString();
  await store.db
    .insertInto('server_settings')
    .values({ key: POLICY_KEY, value: policy, updated_by: by, updated_at: now })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: policy, updated_by: by, updated_at: now }))
    .execute();
}
