/** Trades a join token for a node credential, once, over plain HTTP. */
import { API_PREFIX, apiErrorSchema, BerthError, nodeCredentialSchema, routes, type NodeCredential } from '../../api/index.js';

/** Calls POST /nodes/join; throws BerthError with the server's code on refusal. */
export async function joinServer(server: string, token: string, name: string): Promise<NodeCredential> {
  let res: Response;
  try {
    res = await fetch(new URL(API_PREFIX + routes.nodesJoinPost.path, server), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, name }),
    });
  } catch (err) {
    throw new BerthError('UNAVAILABLE', `Cannot reach the berth server at ${server} (${(err as Error).cause ?? (err as Error).message}); check --server and that the server runs.`, { field: 'server' });
  }
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const e = apiErrorSchema.safeParse(body);
    throw e.success ? BerthError.fromApi(e.data) : new BerthError('INTERNAL', `The server refused the join with HTTP ${res.status}.`);
  }
  return nodeCredentialSchema.parse(body);
}
