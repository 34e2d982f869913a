/**
 * `berth config pull|diff|push` on the server: the live configuration with its revision, and a
 * push applied in one transaction (all or nothing), refused when the folder was pulled at
 * another revision (like `kubectl apply`'s conflict check), a no-op when nothing differs, and
 * audited as one entry that lists what changed (written in the same transaction).
 */

import {
  BerthError,
  type ConfigChange,
  type ConfigDocument,
  type ConfigPush,
  type ConfigPushResult,
  configKey,
  configPushSchema,
  diffConfig,
  duplicateKey,
  type User,
} from '../../../api/index.js';
import type { Store } from '../../store/open.js';
import { applyChange, checkReferences, desiredResources } from './apply.js';
import { configRevision, liveConfig } from './live.js';

/** Most characters of change list one audit entry keeps. */
const MAX_AUDIT_DETAIL = 4000;

/** Configuration as code. */
export class ConfigService {
  constructor(
    private readonly store: Store,
    /** Re-checks live sessions after a push that changed the server settings (a sharing policy of `off` ends sessions that rested on shares). */
    private readonly revoker?: { recheck(): Promise<unknown> },
  ) {}

  /** The live configuration and its revision, read in one transaction. */
  async pull(): Promise<ConfigDocument> {
    return this.store.db.transaction().execute(async (tx) => ({ revision: await configRevision(tx), resources: await liveConfig(tx) }));
  }

  /** Applies (or with dryRun only diffs) a pushed configuration. */
  async push(user: User, input: ConfigPush, via: { sourceIp?: string } = {}): Promise<ConfigPushResult> {
    const body = configPushSchema.parse(input);
    const dup = duplicateKey(body.resources);
    if (dup) throw new BerthError('INVALID_ARGUMENT', `The push holds ${dup} twice; keep one file per resource.`, { field: 'resources' });
    const result = await this.store.db.transaction().execute(async (tx) => {
      const revision = await configRevision(tx);
      const live = await liveConfig(tx);
      const desired = desiredResources(live, body.resources, body.prune);
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
    if (result.applied && result.changes.some((c) => c.kind === 'ServerSettings')) await this.revoker?.recheck();
    return result;
  }
}

/** The audit entry's detail: each change on a line, bounded. */
function describeChanges(changes: ConfigChange[], from: number, to: number): string {
  if (changes.length === 0) return `no changes (revision ${from})`;
  const lines = changes.map((c) => `${c.action} ${c.kind}/${c.name}${c.fields.length ? ` (${c.fields.join(', ')})` : ''}`);
  const text = `revision ${from} → ${to}: ${lines.join('; ')}`;
  return text.length > MAX_AUDIT_DETAIL ? `${text.slice(0, MAX_AUDIT_DETAIL - 1)}…` : text;
}
