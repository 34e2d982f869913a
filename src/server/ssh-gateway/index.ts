/** Starting the SSH gateway from `berth server`: host key, dependencies, the advertised address. */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { BerthError, parseOptionalListenAddress, type Workspace } from '../../api/index.js';
import { userForPublicKey } from '../auth/ssh-keys.js';
import type { Services } from '../services/index.js';
import { sessionUser } from '../services/spec/session-defaults.js';
import type { Store } from '../store/open.js';
import { HOST_KEY_FILE, loadOrCreateHostKey } from './host-key.js';
import { SshGateway } from './server.js';

export { SshGateway } from './server.js';

/** Where `--ssh-listen` puts the gateway unless told otherwise. */
export const DEFAULT_SSH_LISTEN = '127.0.0.1:2222';

/**
 * Starts the gateway unless `listen` is `off`, and tells the workspaces service where clients
 * reach it. Clients need a name they can dial, so a wildcard listen address is advertised as
 * this machine's host name unless `advertise` says otherwise.
 */
export async function startSshGateway(opts: {
  listen: string;
  advertise?: string;
  dataDir: string;
  store: Store;
  services: Services;
  log: Logger;
}): Promise<SshGateway | null> {
  const addr = parseOptionalListenAddress(opts.listen, 'sshListen');
  if (!addr) return null;
  const log = opts.log.child({ component: 'ssh-gateway' });
  const hostKey = await loadOrCreateHostKey(join(opts.dataDir, HOST_KEY_FILE));
  const deps = {
    hub: opts.services.hub,
    workspaces: opts.services.workspaces,
    audit: opts.services.audit,
    userForKey: (algo: string, blob: Buffer) => userForPublicKey(opts.store, algo, blob),
    sessionUser: (ws: Workspace) => sessionUser(opts.store, ws.id),
    log,
    // Teams and sharing.
    live: opts.services.live,
  };
  let gateway: SshGateway;
  try {
    gateway = await SshGateway.start({ ...addr, hostKey, deps });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BerthError(
      'FAILED_PRECONDITION',
      `The SSH gateway cannot listen on ${opts.listen}${code ? ` (${code})` : ''}; pick another address with --ssh-listen HOST:PORT, or turn it off with --ssh-listen off.`,
      {
        field: 'sshListen',
        cause: err,
      },
    );
  }
  const bound = gateway.address();
  const wildcard = ['0.0.0.0', '::'].includes(addr.host);
  const host = opts.advertise || (wildcard ? hostname() : addr.host);
  opts.services.workspaces.sshGateway = { host, port: bound.port, hostKey: hostKey.publicKey, fingerprint: hostKey.fingerprint };
  log.info({ listen: `${bound.host}:${bound.port}`, advertised: `${host}:${bound.port}`, fingerprint: hostKey.fingerprint }, 'ssh gateway listening');
  return gateway;
}
