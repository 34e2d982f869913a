/**
 * The block `berth config-ssh` keeps in ~/.ssh/config: rendering it, and putting it into a file
 * without touching a single line outside the markers. Pure text functions, tested alone.
 */
import { BerthError, CLIENT_CIPHERS } from '../api/index.js';

/** The markers around berth's block; lines between them belong to berth. */
export const BLOCK_BEGIN = '# --- BEGIN berth managed ---';
export const BLOCK_END = '# --- END berth managed ---';

/** What every host entry shares. */
export interface SshConfigTarget {
  /** The gateway's address as clients dial it. */
  host: string;
  port: number;
  identityFile: string;
  knownHostsFile: string;
  /** The command that runs `berth`, already quoted for a shell (ProxyCommand runs via `sh -c`). */
  berthCommand: string;
  /** Named in the block's comment so a reader knows where it came from. */
  server: string;
}

/** Quotes one word for a POSIX shell. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Quotes an ssh_config argument that may contain spaces. */
function configValue(value: string): string {
  return /[\s"]/.test(value) ? `"${value.replace(/"/g, '')}"` : value;
}

/** The managed block with one `Host NAME.berth` per workspace, ending in a newline. */
export function renderManagedBlock(workspaces: readonly string[], t: SshConfigTarget): string {
  const lines = [BLOCK_BEGIN, `# Written by \`berth config-ssh\` for ${t.server}; run it again to refresh. Edits inside this block are replaced.`];
  for (const name of [...workspaces].sort()) {
    lines.push(
      `Host ${name}.berth`,
      `  HostName ${t.host}`,
      `  Port ${t.port}`,
      `  User ${name}`,
      `  IdentityFile ${configValue(t.identityFile)}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${configValue(t.knownHostsFile)}`,
      '  StrictHostKeyChecking yes',
      `  Ciphers ${CLIENT_CIPHERS}`,
      // ssh expands %-tokens in ProxyCommand, so a literal % must be doubled.
      `  ProxyCommand ${`${t.berthCommand} ssh --stdio ${name}`.replace(/%/g, '%%')}`,
    );
  }
  // The block goes first so its options win (ssh takes the first value it finds); ending it
  // with `Host *` keeps any global options that follow applying to every host, as before.
  lines.push('Host *', BLOCK_END);
  return lines.join('\n') + '\n';
}

/**
 * Puts `block` into `existing` config text: in place of an earlier berth block, else at the
 * top. Everything outside the markers is kept byte for byte.
 */
export function upsertManagedBlock(existing: string, block: string): string {
  const lines = existing.split('\n');
  const begin = lines.findIndex((l) => l.trim() === BLOCK_BEGIN);
  const end = lines.findIndex((l, i) => i > begin && l.trim() === BLOCK_END);
  if (begin >= 0 && end < 0) {
    throw new BerthError(
      'FAILED_PRECONDITION',
      `The SSH config has "${BLOCK_BEGIN}" without "${BLOCK_END}"; remove the partial block (or add the end marker) and run \`berth config-ssh\` again.`,
      {
        field: 'sshConfig',
      },
    );
  }
  if (begin < 0 && lines.some((l) => l.trim() === BLOCK_END)) {
    throw new BerthError(
      'FAILED_PRECONDITION',
      `The SSH config has "${BLOCK_END}" without "${BLOCK_BEGIN}"; remove the stray marker and run \`berth config-ssh\` again.`,
      { field: 'sshConfig' },
    );
  }
  if (begin < 0) return existing.length === 0 ? block : block + '\n' + existing;
  const before = lines.slice(0, begin).join('\n');
  const after = lines.slice(end + 1).join('\n');
  return (begin > 0 ? before + '\n' : '') + block + after;
}

/** Whether a config text has a berth entry for `alias`. */
export function hasManagedHost(config: string, alias: string): boolean {
  const lines = config.split('\n').map((l) => l.trim());
  const begin = lines.indexOf(BLOCK_BEGIN);
  const end = lines.indexOf(BLOCK_END);
  return begin >= 0 && end > begin && lines.slice(begin, end).includes(`Host ${alias}`);
}
