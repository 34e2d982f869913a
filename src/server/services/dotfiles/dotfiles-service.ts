/**
 * Dotfiles per user: set (a git URL, or an uploaded folder's checked archive), show, unset,
 * and apply in a workspace (at create, after the spec's post_create hooks, and on demand).
 * A failed apply at create is written to the create's log and leaves the workspace running:
 * a broken dotfile is the user's to fix and re-apply, not a reason to destroy a good workspace.
 */
import { createHash } from 'node:crypto';
import { BerthError, type Dotfiles, type DotfilesApply, type DotfilesPut, dotfilesPutSchema, type OpContext, type User } from '../../../api/index.js';
import type { AgentHub } from '../../agents/hub.js';
import type { Store } from '../../store/open.js';
import type { UserDotfilesTable } from '../../store/schema.js';
import { storedSpec } from '../spec/stored-spec.js';
import type { WorkspacesService } from '../workspaces.js';
import { APPLIED_LINE, applyArgv, EXIT_NO_GIT, EXIT_NO_INSTALL, UNCHANGED_LINE } from './apply-script.js';
import { checkArchive } from './archive.js';
import { execWithInput } from './exec-with-input.js';

/** How long an apply (a clone and an install script) may take. */
const APPLY_TIMEOUT_MS = 5 * 60_000;
/** Lines of the apply's output kept in the answer. */
const MAX_LOG_LINES = 200;

/** Dotfiles. */
export class DotfilesService {
  constructor(
    private readonly store: Store,
    private readonly hub: AgentHub,
    private readonly workspaces: WorkspacesService,
  ) {}

  /** The caller's dotfiles, or null. */
  async show(user: User): Promise<Dotfiles | null> {
    const row = await this.store.db.selectFrom('user_dotfiles').selectAll().where('user_id', '=', user.id).executeTakeFirst();
    return row ? toApi(row) : null;
  }

  /** Sets the caller's dotfiles (replacing any). */
  async set(user: User, input: DotfilesPut): Promise<Dotfiles> {
    const body = dotfilesPutSchema.parse(input);
    const now = new Date().toISOString();
    let row: UserDotfilesTable;
    const install = body.install ?? null;
    if (body.source.type === 'dir') {
      const archive = Buffer.from(body.source.archive, 'base64');
      const facts = await checkArchive(archive);
      const digest = sha256(['dir', archive.toString('base64'), install ?? '']);
      row = {
        user_id: user.id,
        source: 'dir',
        url: null,
        ref: null,
        archive: archive.toString('base64'),
        files: facts.files,
        bytes: facts.bytes,
        digest,
        install,
        updated_at: now,
      };
    } else {
      const ref = body.source.ref ?? null;
      const digest = sha256(['repo', body.source.url, ref ?? '', install ?? '']);
      row = { user_id: user.id, source: 'repo', url: body.source.url, ref, archive: null, files: null, bytes: null, digest, install, updated_at: now };
    }
    const { user_id: _id, ...rest } = row;
    await this.store.db
      .insertInto('user_dotfiles')
      .values(row)
      .onConflict((oc) => oc.column('user_id').doUpdateSet(rest))
      .execute();
    return toApi(row);
  }

  /** Removes the caller's dotfiles (workspaces keep what was applied). */
  async unset(user: User): Promise<Dotfiles | null> {
    const before = await this.show(user);
    if (!before) throw new BerthError('NOT_FOUND', 'You have no dotfiles set; set them with `berth dotfiles set REPO|DIR`.');
    await this.store.db.deleteFrom('user_dotfiles').where('user_id', '=', user.id).execute();
    return null;
  }

  /** Applies the caller's dotfiles in one of their running workspaces. */
  async apply(user: User, name: string, via: { sourceIp?: string } = {}): Promise<DotfilesApply> {
    const ws = await this.workspaces.forExec(user, name, via);
    const row = await this.store.db.selectFrom('user_dotfiles').selectAll().where('user_id', '=', user.id).executeTakeFirst();
    if (!row)
      throw new BerthError('FAILED_PRECONDITION', 'You have no dotfiles set; set them with `berth dotfiles set REPO|DIR` first.', { field: 'dotfiles' });
    return this.run(row, { id: ws.id, name: ws.name, nodeId: ws.nodeId });
  }

  /** At create (WorkspacesService.afterCreate): applies the owner's dotfiles, reporting in the create's log; never fails the create. */
  async applyAtCreate(op: OpContext, user: User, ws: { id: string; name: string; nodeId: string }): Promise<void> {
    const row = await this.store.db.selectFrom('user_dotfiles').selectAll().where('user_id', '=', user.id).executeTakeFirst();
    if (!row) return;
    op.progress('applying dotfiles', null);
    try {
      const r = await this.run(row, ws);
      for (const line of r.log) op.log(line);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      op.log(`dotfiles failed (the workspace is fine and running): ${message}`);
    }
  }

  /** Runs the apply script in the workspace. */
  private async run(row: UserDotfilesTable, ws: { id: string; name: string; nodeId: string }): Promise<DotfilesApply> {
    // The workspace's user: the one its spec's hooks and sessions run as.
    const user = (await storedSpec(this.store, ws.id))?.user ?? null;
    const argv = applyArgv({ mode: row.source, digest: row.digest, install: row.install, url: row.url, ref: row.ref, user });
    const input = row.source === 'dir' && row.archive ? Buffer.from(row.archive, 'base64') : Buffer.alloc(0);
    const r = await execWithInput(this.hub, ws, argv, input, APPLY_TIMEOUT_MS);
    const log = `${r.stdout}${r.stderr}`
      .split('\n')
      .map((l) => l.trimEnd())
      .filter((l) => l.length > 0)
      .slice(-MAX_LOG_LINES);
    if (r.code !== 0) {
      const said = r.stderr.trim().split('\n').pop()?.slice(0, 500) ?? '';
      const why =
        r.code === EXIT_NO_GIT
          ? 'git is not installed in the workspace; use an image that has it (for example one built with `berth image build NAME --from debian:bookworm --packages git`), or upload a folder with `berth dotfiles set DIR`'
          : r.code === EXIT_NO_INSTALL
            ? `the install script ${row.install} is not in the dotfiles; fix --install with \`berth dotfiles set\``
            : `exit ${r.code}${said ? `: ${said}` : ''}; fix the dotfiles (or their install script) and run \`berth dotfiles apply ${ws.name}\``;
      throw new BerthError('FAILED_PRECONDITION', `Applying dotfiles in ${ws.name} failed: ${why}.`, { field: 'dotfiles', detail: log.join('\n') });
    }
    const last = log.at(-1);
    if (last !== APPLIED_LINE && last !== UNCHANGED_LINE) {
      throw new BerthError('INTERNAL', `Applying dotfiles in ${ws.name} ended without saying how (last line: ${JSON.stringify((last ?? '').slice(0, 200))}).`, {
        detail: log.join('\n'),
      });
    }
    return { workspace: ws.name, changed: last === APPLIED_LINE, log };
  }
}

function sha256(parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}

function toApi(r: UserDotfilesTable): Dotfiles {
  return { source: r.source, url: r.url, ref: r.ref, files: r.files, bytes: r.bytes, digest: r.digest, install: r.install, updatedAt: r.updated_at };
}
