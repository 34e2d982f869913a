/** Nodes: status, providers (and why one is unusable), resources, workspaces. */
import { ErrorBox, PageHead, Status } from '../components/bits.js';
import { call } from '../lib/api.js';
import { bytes, when } from '../lib/format.js';
import { usePoll } from '../lib/poll.js';

/** The node list. */
export function NodesPage({ admin }: { admin: boolean }) {
  const nodes = usePoll(() => call('nodesList', { query: { limit: 1000 } }), 5000);
  return (
    <section>
      <PageHead title="Nodes" />
      <ErrorBox message={nodes.error} />
      {nodes.data && nodes.data.nodes.length === 0 && <p>No nodes yet{admin ? ': add one with `berth node add` or a join token.' : '.'}</p>}
      {nodes.data && nodes.data.nodes.length > 0 && (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Providers</th>
              <th scope="col">Resources</th>
              <th scope="col">Workspaces</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {nodes.data.nodes.map((n) => (
              <tr key={n.id}>
                <th scope="row" data-label="Name">
                  {n.name}
                  {n.cordoned ? <small> cordoned</small> : null}
                </th>
                <td data-label="Status">
                  <Status value={n.status} />
                </td>
                <td data-label="Providers">
                  <ul class="plain">
                    {n.providers.map((p) => (
                      <li key={p.kind}>
                        {p.kind}:{' '}
                        {p.usable ? `usable${p.version ? ` (${p.version})` : ''}` : <span class="warn">unusable — {p.reason ?? 'no reason given'}</span>}
                      </li>
                    ))}
                  </ul>
                </td>
                <td data-label="Resources">
                  {n.resources
                    ? `${n.resources.cpus} CPU · ${bytes(n.resources.memoryFreeBytes)} of ${bytes(n.resources.memoryBytes)} free · disk ${bytes(n.resources.diskFreeBytes)} of ${bytes(n.resources.diskBytes)} free`
                    : 'not reported'}
                </td>
                <td data-label="Workspaces">{n.workspaces}</td>
                <td data-label="Last seen">{when(n.lastSeenAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
