/**
 * How a config push reads and writes each kind: the desired set a push means (pruned
 * resources reset to their defaults, sizes in the form a pull writes), the references config
 * cannot create, and the write of one change. Everything runs inside the push's transaction.
 */
import type { Transaction } from 'kysely';
import { BerthError, type ConfigChange, type ConfigResource, configKey, parseSize, SERVER_SETTINGS_NAME } from '../../../api/index.js';
import type { Database } from '../../store/schema.js';
import { sizeText } from './live.js';

/**
 * With prune, nodes, teams' quotas and the server settings the folder leaves out are reset to
 * their defaults rather than removed (a node leaves with `node rm`, a team with `team rm`; the
 * settings always exist), so they diff as changed fields and a second pruning push finds
 * nothing to do. A team's memory is compared in the form a pull writes (`2048m` is `2g`).
 */
export function desiredResources(live: ConfigResource[], desired: ConfigResource[], prune: boolean): ConfigResource[] {
  const out = desired.map((r) =>
    r.kind === 'TeamQuota' && r.spec.memory !== undefined ? { ...r, spec: { ...r.spec, memory: sizeText(parseSize(r.spec.memory)!) } } : r,
  );
  if (!prune) return out;
  const have = new Set(desired.map(configKey));
  for (const r of live) {
    if (have.has(configKey(r))) continue;
    if (r.kind === 'Node') out.push({ kind: 'Node', name: r.name, spec: { labels: {}, cordoned: false } });
    if (r.kind === 'ServerSettings') out.push({ kind: 'ServerSettings', name: SERVER_SETTINGS_NAME, spec: {} });
    if (r.kind === 'TeamQuota') out.push({ kind: 'TeamQuota', name: r.name, spec: {} });
  }
  return out;
}

/** Resources that name what config cannot create: a node that never joined, a user with no account, a team nobody made. */
export async function checkReferences(tx: Transaction<Database>, live: ConfigResource[], desired: ConfigResource[]): Promise<void> {
  const liveKeys = new Set(live.map(configKey));
  for (const r of desired) {
    if (r.kind === 'Node' && !liveKeys.has(configKey(r))) {
      throw new BerthError(
        'NOT_FOUND',
        `Node ${r.name} is not a node of this server (nodes join with \`berth node join-token\`, they are not made by config); remove its file or join the node first. Nothing was applied.`,
        { field: `Node/${r.name}` },
      );
    }
    if (r.kind === 'TeamQuota' && !liveKeys.has(configKey(r))) {
      throw new BerthError(
        'NOT_FOUND',
        `Team ${r.name} does not exist (teams are made with \`berth team create\`, not by config); remove its quota's file or create the team first. Nothing was applied.`,
        { field: `TeamQuota/${r.name}` },
      );
    }
    if (r.kind === 'UserQuota' && !(await tx.selectFrom('users').select('id').where('name', '=', r.name).executeTakeFirst())) {
      throw new BerthError(
        'NOT_FOUND',
        `User ${r.name} has no account here (see \`berth user ls\`); remove the quota's file or invite the user first. Nothing was applied.`,
        { field: `UserQuota/${r.name}` },
      );
    }
  }
}

/** Writes one change. */
export async function applyChange(tx: Transaction<Database>, c: ConfigChange, want: ConfigResource | null): Promise<void> {
  const now = new Date().toISOString();
  if (c.kind === 'ServerSettings') {
    await tx
      .updateTable('config_state')
      .set({ settings_json: JSON.stringify(want?.spec ?? {}) })
      .where('id', '=', 1)
      .execute();
  } else if (c.kind === 'Node' && want?.kind === 'Node') {
    await tx
      .updateTable('nodes')
      .set({ labels_json: JSON.stringify(want.spec.labels), cordoned: want.spec.cordoned ? 1 : 0 })
      .where('name', '=', c.name)
      .execute();
  } else if (c.kind === 'TeamQuota') {
    const spec = want?.kind === 'TeamQuota' ? want.spec : {};
    await tx
      .updateTable('teams')
      .set({
        max_workspaces: spec.workspaces ?? null,
        max_cpus: spec.cpus ?? null,
        max_memory_bytes: spec.memory !== undefined ? parseSize(spec.memory)! : null,
      })
      .where('name', '=', c.name)
      .execute();
  } else if (c.kind === 'WorkspaceTemplate' || c.kind === 'ImageRecipe') {
    const table = c.kind === 'WorkspaceTemplate' ? 'workspace_templates' : 'image_recipes';
    if (c.action === 'removed') await tx.deleteFrom(table).where('name', '=', c.name).execute();
    else if (want) {
      await tx
        .insertInto(table)
        .values({ name: c.name, spec_json: JSON.stringify(want.spec), updated_at: now })
        .onConflict((oc) => oc.column('name').doUpdateSet({ spec_json: JSON.stringify(want.spec), updated_at: now }))
        .execute();
    }
  } else if (c.kind === 'UserQuota') {
    const user = await tx.selectFrom('users').select('id').where('name', '=', c.name).executeTakeFirstOrThrow();
    if (c.action === 'removed') await tx.deleteFrom('user_quotas').where('user_id', '=', user.id).execute();
    else if (want) {
      await tx
        .insertInto('user_quotas')
        .values({ user_id: user.id, spec_json: JSON.stringify(want.spec), updated_at: now })
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ spec_json: JSON.stringify(want.spec), updated_at: now }))
        .execute();
    }
  }
}
