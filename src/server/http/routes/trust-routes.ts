/**
 * The routes of the fleet's trust: the CA clients pin, rotating a node's credential and
 * removing (revoking) a node. Both mutating routes are audited by the audit hook.
 */
import type { FastifyInstance } from 'fastify';
import { BerthError, type CaInfo } from '../../../api/index.js';
import type { Services } from '../../services/index.js';
import type { Store } from '../../store/open.js';
import { registerRoute } from './register.js';

/** Adds GET /ca, POST /nodes/:name/rotate-credential and DELETE /nodes/:name. `ca` is null when the server serves plain HTTP. */
export function registerTrustRoutes(app: FastifyInstance, store: Store, s: Services, ca: CaInfo | null): void {
  registerRoute(app, store, 'caGet', async () => {
    if (!ca)
      throw new BerthError(
        'FAILED_PRECONDITION',
        'This server serves plain HTTP and has no CA to pin; start it with --tls (or on a non-loopback address) to use TLS.',
      );
    return ca;
  });
  registerRoute(app, store, 'nodeRotateCredentialPost', async ({ params }) => s.credentials.rotate(params.name));
  registerRoute(app, store, 'nodeDelete', async ({ params, body }) => {
    const key = body.privateKey ? { privateKey: body.privateKey, passphrase: body.passphrase } : undefined;
    return s.credentials.remove(params.name, body.force, key ? (nodeId) => s.sshNodes.uninstall(nodeId, key) : undefined);
  });
}
