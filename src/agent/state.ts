/**
 * What an agent keeps on disk in its state dir: its node credential, and one handle file per
 * workspace so that a restarted agent can find and re-adopt what it runs. Every write goes to
 * a temporary file first and is renamed into place, so a crash never leaves half a file.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { BerthError } from '../api/index.js';
import type { WorkspaceHandle } from '../providers/provider.js';

const credentialSchema = z.object({ server: z.string(), nodeId: z.string(), nodeName: z.string(), credential: z.string() });
/** The node's identity, as saved after joining. */
export type SavedCredential = z.infer<typeof credentialSchema>;

async function writeAtomic(file: string, data: string, mode = 0o600): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, file);
}

/** The agent's state dir. */
export class AgentState {
  constructor(readonly dir: string) {}

  private get credentialFile(): string {
    return join(this.dir, 'credential.json');
  }

  private get handlesDir(): string {
    return join(this.dir, 'workspaces');
  }

  /** Creates the folders (private to the agent's user). */
  async init(): Promise<void> {
    try {
      await mkdir(this.handlesDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new BerthError(
        'FAILED_PRECONDITION',
        `Cannot create the agent's state dir ${this.dir} (${code}); pass --state-dir a directory this user may write.`,
        {
          field: 'state-dir',
          cause: err,
        },
      );
    }
  }

  /** The saved credential, or null before the node joined. */
  async loadCredential(): Promise<SavedCredential | null> {
    try {
      return credentialSchema.parse(JSON.parse(await readFile(this.credentialFile, 'utf8')));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new BerthError(
        'FAILED_PRECONDITION',
        `The agent's credential file ${this.credentialFile} is unreadable (${(err as Error).message}); remove it and join again with a new token from \`berth node join-token\`.`,
        { field: 'state-dir', cause: err },
      );
    }
  }

  /** Saves the credential (mode 0600). */
  async saveCredential(c: SavedCredential): Promise<void> {
    await this.init();
    await writeAtomic(this.credentialFile, JSON.stringify(c, null, 2) + '\n');
  }

  private get caFile(): string {
    return join(this.dir, 'ca.pem');
  }

  /** The server's CA as pinned at the join (PEM), or null for a plain-HTTP server. */
  async loadCa(): Promise<string | null> {
    try {
      return await readFile(this.caFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new BerthError(
        'FAILED_PRECONDITION',
        `The agent's pinned CA ${this.caFile} is unreadable (${(err as Error).message}); restore it, or join again with a new token.`,
        {
          field: 'state-dir',
          cause: err,
        },
      );
    }
  }

  /** Saves the server's CA (checked against the join token's fingerprint by the caller). */
  async saveCa(pem: string): Promise<void> {
    await this.init();
    await writeAtomic(this.caFile, pem, 0o644);
  }

  /** Every persisted workspace handle. */
  async loadHandles(): Promise<WorkspaceHandle[]> {
    const files = await readdir(this.handlesDir).catch(() => [] as string[]);
    const out: WorkspaceHandle[] = [];
    for (const f of files.filter((f) => f.endsWith('.json'))) {
      try {
        out.push(JSON.parse(await readFile(join(this.handlesDir, f), 'utf8')) as WorkspaceHandle);
      } catch {
        // A handle that cannot be read is skipped; list() + reaping finds its workspace anyway.
      }
    }
    return out;
  }

  /** Persists a handle. */
  async saveHandle(h: WorkspaceHandle): Promise<void> {
    await writeAtomic(join(this.handlesDir, `${h.workspaceId}.json`), JSON.stringify(h, null, 2) + '\n');
  }

  /** Forgets a handle. */
  async removeHandle(workspaceId: string): Promise<void> {
    await rm(join(this.handlesDir, `${workspaceId}.json`), { force: true });
  }
}
