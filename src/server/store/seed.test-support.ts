/**
 * Rows the server's unit tests seed a real SQLite store with: users, a node and workspace rows,
 * written once here instead of in every test file.
 */
import type { User } from '../../api/index.js';
import type { Store } from './open.js';
import type { Database } from './schema.js';

/** Inserts `users` as they are (role, name, id), created at `now`. */
export async function seedUsers(store: Store, users: ReadonlyArray<Pick<User, 'id' | 'name' | 'role'>>, now: string): Promise<void> {
  await store.db
    .insertInto('users')
    .values(users.map((u) => ({ id: u.id, name: u.name, role: u.role, email: null, created_at: now })))
    .execute();
}

/** Inserts a node `id` (also its name) that never reported. */
export async function seedNode(store: Store, id: string, now: string): Promise<void> {
  await store.db
    .insertInto('nodes')
    .values({ id, name: id, credential_hash: 'x', created_at: now, last_seen_at: null, agent_version: null, resources_json: null, providers_json: '[]' })
    .execute();
}

/** A Docker workspace row on node n1, with `extra` overriding any column. */
export function workspaceRow(id: string, name: string, owner: string, now: string, extra: Partial<Database['workspaces']> = {}) {
  return {
    id,
    name,
    owner_id: owner,
    node_id: 'n1',
    provider: 'docker',
    image: 'base',
    status: 'running',
    cpus: null,
    memory_bytes: null,
    error_json: null,
    created_at: now,
    updated_at: now,
    ...extra,
  };
}
