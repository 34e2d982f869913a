/**
 * `berth config pull|diff|push` on the server: the live configuration with its revision, and a
 * push applied in one transaction (all or nothing), refused when the folder was pulled at
 * another revision (like `kubectl apply`'s conflict check), a no-op when nothing differs, and
 * audited as one entry that lists what changed (written in the same transaction).
 */

import type { Transaction } from 'kysely';
import {
  BerthError,
  type ConfigChange,
  type ConfigDocument,
  type ConfigPush,
  type ConfigPushResult,
  type ConfigResource,
  configKey,
  configPushSchema,
  diffConfig,
  duplicateKey,
  SERVER_SETTINGS_NAME,
  type User,
} from '../../../api/index.js';
import type { Store } from '../../store/open.js';
import type { Database } from '../../store/schema.js';
import { configRevision, liveConfig } from './live.js';

/** Most characters of change list one audit entry keeps. */
const MAX_AUDIT_DETAIL = 4000;

/** Configuration as code. */
export class ConfigService {
  constructor(private readonly store: Store) {}

  /** The live configuration and its revision, read in one transaction. */
  async pull(): Promise<ConfigDocument> {
    return this.store.db.transaction().execute(async (tx) => ({ revision: await configRevision(tx), resources: await liveConfig(tx) }));
  }

  /** Applies (or with dryRun only diffs) a pushed configuration. */
  async push(user: User, input: ConfigPush, via: { sourceIp?: string } = {}): Promise<ConfigPushResult> {
    const body = configPushSchema.parse(input);
    const dup = duplicateKey(body.resources);
    if (dup) throw new BerthError('INVALID_ARGUMENT', `The push holds ${dup} twice; keep one file per resource.`, { field: 'resources' });
    return this.store.db.transaction().execute(async (tx) => {
      const revision = await configRevision(tx);
      const live = await liveConfig(tx);
      const desired = withPrunedDefaults(live, body.resources, body.prune);
      await checkReferences(tx, live, desired);
      const changes = diffConfig(live, desired, body.prune);
      if (body.dryRun) return { applied: false, revision, changes };
      if (body.baseRevision !== revision) {
        throw new BerthError(
          'FAILED_PRECONDITION',
          `The configuration changed since this folder was pulled (it was pulled at revision ${body.baseRevision}; the server is at ${revision}): nothing was applied. Pull again into a fresh folder, redo your edits there, and push.`,
          { field: 'baseRevision' },
        );
      }
      const wanted = new Map(desired.map((r) => [configKey(r), r]));
      for (const c of changes) await applyChange(tx, c, wanted.get(configKey(c)) ?? null);
      const after = await configRevision(tx);
      await tx
        .insertInto('audit_log')
        .values({
          at: new Date().toISOString(),
          actor_id: user.id,
          actor_name: user.name,
          action: 'config.push',
          target: `config@${after}`,
          outcome: 'ok',
          source_ip: via.sourceIp ?? null,
          detail: describeChanges(changes, revision, after),
        })
        .execute();
      return { applied: changes.length > 0, revision: after, changes };
    });
  }
}

/**
 * With prune, nodes and the server settings the folder leaves out are reset to their defaults
 * rather than removed (a node leaves with `node rm`; the settings always exist), so they diff
 * as changed fields and a second pruning push finds nothing to do.
 */
function withPrunedDefaults(live: ConfigResource[], desired: ConfigResource[], prune: boolean): ConfigResource[] {
  if (!prune) return desired;
  const have = new Set(desired.map(configKey));
  const out = [...desired];
  for (const r of live) {
    if (have.has(configKey(r))) continue;
    if (r.kind === 'Node') out.push({ kind: 'Node', name: r.name, spec: { labels: {}, cordoned: false } });
    if (r.kind === 'ServerSettings') out.push({ kind: 'ServerSettings', name: SERVER_SETTINGS_NAME, spec: {} });
  }
  return out;
}

/** Resources that name what config cannot create: a node that never joined, a user with no account. */
async function checkReferences(tx: Transaction<Database>, live: ConfigResource[], desired: ConfigResource[]): Promise<void> {
  const liveKeys = new Set(live.map(configKey));
  for (const r of desired) {
    if (r.kind === 'Node' && !liveKeys.has(configKey(r))) {
      throw new BerthError(
        'NOT_FOUND',
        `Node ${r.name} is not a node of this server (nodes join with \`berth node join-token\`, they are not made by config); remove its file or join the node first. Nothing was applied.`,
        { field: `Node/${r.name}` },
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
async function applyChange(tx: Transaction<Database>, c: ConfigChange, want: ConfigResource | null): Promise<void> {
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
  } else if (c.kind === 'WorkspaceTemplate') {
    if (c.action === 'removed') await tx.deleteFrom('workspace_templates').where('name', '=', c.name).execute();
    else if (want) {
      await tx
        .insertInto('workspace_templates')
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

/** The audit entry's detail: each change on a line, bounded. */
function describeChanges(changes: ConfigChange[], from: number, to: number): string {
  if (changes.length === 0) return `no changes (revision ${from})`;
  const lines = changes.map((c) => `${c.action} ${c.kind}/${c.name}${c.fields.length ? ` (${c.fields.join(', ')})` : ''}`);
  const text = `revision ${from} → ${to}: ${lines.join('; ')}`;
  return text.length > MAX_AUDIT_DETAIL ? `${text.slice(0, MAX_AUDIT_DETAIL - 1)}…` : text;
}
