/** The workspace list, live (polled every 2 s), with create, the lifecycle actions, the ssh line and an editor link. */
import { useState } from 'preact/hooks';
import { formatSshUser, parseWorkspaceRef, sshHostAlias } from '../../../src/api/index.js';
import { WorkspaceActions } from '../components/actions.js';
import { ErrorBox, PageHead, Status } from '../components/bits.js';
import { CreateWorkspace } from '../components/create-workspace.js';
import { bytes } from '../lib/format.js';
import { usePoll } from '../lib/poll.js';
import { loadWorkspaces } from '../lib/workspaces.js';

/** Every workspace the caller may see. */
export function WorkspacesPage() {
  const list = usePoll(loadWorkspaces, 2000);
  const [creating, setCreating] = useState(false);
  const [filter, setFilter] = useState('');
  const shown = (list.data ?? []).filter((w) => !filter || w.name.includes(filter) || w.status === filter || w.nodeName.includes(filter));
  return (
    <section aria-labelledby="ws-title">
      <PageHead title="Workspaces">
        <button type="button" onClick={() => setCreating(!creating)} aria-expanded={creating}>
          {creating ? 'Close' : 'New workspace'}
        </button>
      </PageHead>
      {creating && <CreateWorkspace onChanged={list.reload} />}
      <ErrorBox message={list.error} />
      <div class="filter">
        <label for="ws-filter">Filter</label>
        <input
          id="ws-filter"
          type="search"
          placeholder="name, status or node"
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
        />
      </div>
      {list.data === null ? (
        <p class="loading">Loading…</p>
      ) : shown.length === 0 ? (
        <p>No workspaces{filter ? ' match' : ' yet: create one above, or with `berth ws create NAME`'}.</p>
      ) : (
        <table class="list" id="ws-title-table">
          <caption class="sr-only" id="ws-title">
            Workspaces
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Node</th>
              <th scope="col">Provider</th>
              <th scope="col">Resources</th>
              <th scope="col">Connect</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((w) => (
              <tr key={w.id} data-workspace={w.ref}>
                <th scope="row" data-label="Name">
                  <a href={`/workspaces/${encodeURIComponent(w.ref)}`}>{w.ref}</a>
                  {w.owner ? <small> {w.owner}</small> : null}
                </th>
                <td data-label="Status">
                  <Status value={w.status} />
                </td>
                <td data-label="Node">{w.nodeName}</td>
                <td data-label="Provider">{w.provider}</td>
                <td data-label="Resources">
                  {w.cpus === null && w.memoryBytes === null
                    ? 'no limits'
                    : `${w.cpus ?? 'any'} CPU · ${w.memoryBytes === null ? 'any memory' : bytes(w.memoryBytes)}`}
                </td>
                {/* The list page: the ssh line and an editor link per workspace (all four on its own page). */}
                <td data-label="Connect">
                  <code>ssh {sshHostAlias(formatSshUser(parseWorkspaceRef(w.ref) ?? { owner: w.owner, name: w.name }))}</code>
                  {w.links && w.status === 'running' ? (
                    <>
                      {' '}
                      <a href={w.links.vscode} aria-label={`Open ${w.ref} in VS Code`}>
                        VS Code
                      </a>
                    </>
                  ) : null}
                </td>
                <td data-label="Actions">
                  <WorkspaceActions ws={w} onDone={list.reload} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
