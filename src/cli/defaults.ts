/** Default directories and names for `berth server` and `berth agent`, following where a root daemon and a user's own install each keep data. */
import { join } from 'node:path';
import { nodeNameFromHost } from '../api/index.js';
import type { CliIO } from './context.js';

type DirFacts = Pick<CliIO, 'env' | 'home' | 'isRoot'>;

/** The server's data directory: $BERTH_DATA_DIR, else /var/lib/berth as root, else ~/.local/share/berth. */
export function defaultDataDir(io: DirFacts): string {
  return io.env.BERTH_DATA_DIR || (io.isRoot ? '/var/lib/berth' : join(userDataHome(io), 'berth'));
}

/** The agent's state directory: $BERTH_STATE_DIR, else /var/lib/berth-agent as root, else ~/.local/share/berth-agent. */
export function defaultStateDir(io: DirFacts): string {
  return io.env.BERTH_STATE_DIR || (io.isRoot ? '/var/lib/berth-agent' : join(userDataHome(io), 'berth-agent'));
}

/** A node name derived from the host name (the one rule, shared with the agent and the server). */
export const defaultNodeName = nodeNameFromHost;

function userDataHome(io: DirFacts): string {
  return io.env.XDG_DATA_HOME || join(io.home, '.local', 'share');
}
