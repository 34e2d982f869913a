/** Trades a join token for a node credential, once; over TLS the server must be vouched for by the pinned CA. */
import { API_PREFIX, apiErrorSchema, BerthError, type NodeCredential, nodeCredentialSchema, routes } from '../../api/index.js';
import { certMismatchError, isCertError, requestJson } from './pinned-http.js';

/** Calls POST /nodes/join; throws BerthError with the server's code on refusal. */
export async function joinServer(server: string, token: string, name: string, ca?: string): Promise<NodeCredential> {
  let res: { status: number; body: unknown };
  try {
    res = await requestJson(new URL(API_PREFIX + routes.nodesJoinPost.path, server).toString(), { method: 'POST', body: { token, name }, ca });
  } catch (err) {
    if (isCertError(err)) throw certMismatchError(server, err);
    if (err instanceof BerthError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    // A TLS server hangs up on plain HTTP without an answer.
    const hint =
      server.startsWith('http:') && code === 'ECONNRESET'
        ? `; if it serves HTTPS, use the one-string token from \`berth node join-token\` run against ${server.replace(/^http:/, 'https:')}`
        : '; check --server and that the server runs';
    throw new BerthError('UNAVAILABLE', `Cannot reach the berth server at ${server} (${code})${hint}.`, { field: 'server' });
  }
  if (res.status < 200 || res.status >= 300) {
    const e = apiErrorSchema.safeParse(res.body);
    throw e.success ? BerthError.fromApi(e.data) : new BerthError('INTERNAL', `The server refused the join with HTTP ${res.status}.`);
  }
  return nodeCredentialSchema.parse(res.body);
}
