/**
 * One workspace: status, node, resources, the ssh line and editor links, its ports, its
 * recent activity, and the browser terminal. Services appear in their own section once the
 * API has them.
 */
import { useEffect, useState } from 'preact/hooks';
import { formatSshUser, parseWorkspaceRef, sshHostAlias } from '../../../src/api/index.js';
import { WorkspaceActions } from '../components/actions.js';
import { CopyField, ErrorBox, PageHead, Status } from '../components/bits.js';
import { KeptTerminals } from '../components/kept-terminals.js';
import { PreviewLink } from '../components/preview-link.js';
import { ServicesSection } from '../components/services.js';
import { call, messageOf } from '../lib/api.js';
import { bytes, when } from '../lib/format.js';
import { usePoll } from '../lib/poll.js';
import { navigate } from '../lib/router.js';

type TerminalModule = typeof import('../terminal/terminal-view.js');

/** The workspace page; with `terminal` the terminal is open, with `watch` a read-only view of that kept terminal. */
export function WorkspacePage({ name, terminal, watch, self }: { name: string; terminal: boolean; watch?: string; self: string }) {
  const ws = usePoll(() => call('workspaceGet', { params: { name } }), 2000, [name]);
  const ports = usePoll(() => call('workspacePortsGet', { params: { name } }), 5000, [name]);
  // Audit entries name a workspace OWNER/NAME (and workspace/OWNER/NAME): names are unique per owner.
  const activity = usePoll(
    () =>
      Promise.all([call('workspaceGet', { params: { name } }), call('auditList', { query: { limit: 200 } })]).then(([w, r]) => {
        const full = `${w.owner}/${w.name}`;
        return r.entries.filter((e) => e.target === full || e.target === `workspace/${full}`).slice(0, 10);
      }),
    10_000,
    [name],
  );
  const [Term, setTerm] = useState<TerminalModule | null>(null);
  const [termError, setTermError] = useState<string | null>(null);
  useEffect(() => {
    if ((!terminal && !watch) || Term) return;
    import('../terminal/terminal-view.js').then(
      (m) => setTerm(() => m),
      (err) => setTermError(messageOf(err)),
    );
  }, [terminal, watch]);
  // Pairing: whose terminal is watched (the list says; the view works without it).
  const watched = usePoll(() => (watch ? call('workspaceTerminalsGet', { params: { name } }) : Promise.resolve(null)), 0, [name, watch]);

  const w = ws.data;
  if (!w) return ws.error ? <ErrorBox message={ws.error} /> : <p class="loading">Loading…</p>;
  const base = `/workspaces/${encodeURIComponent(w.ref)}`;
  // Names are unique per owner: yours is NAME, another's OWNER/NAME (OWNER.NAME over SSH).
  const alias = sshHostAlias(formatSshUser(parseWorkspaceRef(w.ref) ?? { owner: w.owner, name: w.name }));
  return (
    <section>
      <PageHead title={w.ref}>
        <WorkspaceActions ws={w} onDone={ws.reload} />
      </PageHead>
      <ErrorBox message={ws.error} />
      {w.error && <ErrorBox message={`Last failure: ${w.error.message}`} />}
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <Status value={w.status} />
        </dd>
        <dt>Owner</dt>
        <dd>{w.owner}</dd>
        <dt>Node</dt>
        <dd>{w.nodeName}</dd>
        <dt>Provider</dt>
        <dd>{w.provider}</dd>
        <dt>Image</dt>
        <dd>{w.image}</dd>
        <dt>Resources</dt>
        <dd>
          {w.cpus ?? 'no CPU limit'} · {w.memoryBytes ? bytes(w.memoryBytes) : 'no memory limit'}
        </dd>
        <dt>Created</dt>
        <dd>{when(w.createdAt)}</dd>
      </dl>

      <h2>Connect</h2>
      <CopyField label="SSH" value={`ssh ${alias}`} />
      <p class="hint">
        The <code>{alias}</code> name comes from <code>berth config-ssh</code>.
      </p>
      {w.links ? (
        <ul class="links">
          <li>
            <a href={w.links.vscode}>Open in VS Code</a>
          </li>
          <li>
            <a href={w.links.cursor}>Open in Cursor</a>
          </li>
          <li>
            <a href={w.links.windsurf}>Open in Windsurf</a>
          </li>
          <li>
            <a href={w.links.jetbrains}>Open in JetBrains Gateway</a>
          </li>
        </ul>
      ) : (
        <p class="hint">Editor links need the SSH gateway, which this server runs without.</p>
      )}

      <h2>Terminal</h2>
      {terminal || watch ? (
        <>
          <button type="button" onClick={() => navigate(base)}>
            {watch ? 'Stop watching' : 'Close terminal'}
          </button>
          <ErrorBox message={termError} />
          {w.status !== 'running' && <p class="hint">The workspace is {w.status}; a shell needs it running.</p>}
          {!Term ? (
            <p class="loading">Loading the terminal…</p>
          ) : watch ? (
            <Term.WatchView key={watch} name={w.ref} id={watch} owner={watched.data?.terminals.find((t) => t.id === watch)?.owner ?? null} />
          ) : (
            <Term.default name={w.ref} />
          )}
        </>
      ) : (
        <a class="button" href={`${base}/terminal`}>
          Open terminal
        </a>
      )}
      {w.status === 'running' && !watch && <KeptTerminals name={w.ref} self={self} />}

      <h2>Ports</h2>
      <ErrorBox message={ports.error} />
      {ports.data && ports.data.ports.length === 0 && <p>Nothing listens yet{ports.data.observedAt ? '' : ' (the node has not reported)'}.</p>}
      {ports.data && ports.data.ports.length > 0 && (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Port</th>
              <th scope="col">Protocol</th>
              <th scope="col">Listens on</th>
              <th scope="col">Process</th>
              <th scope="col">Forward</th>
              <th scope="col">Preview</th>
            </tr>
          </thead>
          <tbody>
            {ports.data.ports.map((p) => (
              <tr key={`${p.protocol}-${p.port}`}>
                <th scope="row" data-label="Port">
                  {p.port}
                </th>
                <td data-label="Protocol">{p.protocol}</td>
                <td data-label="Listens on">
                  {p.addresses.join(', ')}
                  {p.loopbackOnly ? ' (loopback only)' : ''}
                </td>
                <td data-label="Process">{p.process ? `${p.process.name} (${p.process.pid})` : '—'}</td>
                <td data-label="Forward">
                  <code>
                    berth port-forward {w.ref} {p.port}
                  </code>
                </td>
                {/* Web UI previews: a link minted for this browser session, and the command for a terminal. */}
                <td data-label="Preview">
                  {p.protocol === 'tcp' ? (
                    <>
                      <PreviewLink ws={w} port={p.port} self={self} />{' '}
                      <code>
                        berth preview {w.ref} {p.port}
                      </code>
                    </>
                  ) : (
                    '—'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <ServicesSection name={w.ref} running={w.status === 'running'} />

      <h2>Recent activity</h2>
      <ErrorBox message={activity.error} />
      {activity.data && activity.data.length === 0 && <p>No recorded activity.</p>}
      {activity.data && activity.data.length > 0 && (
        <ul class="activity">
          {activity.data.map((e) => (
            <li key={e.id}>
              <time>{when(e.at)}</time> {e.actor ?? 'someone'} · {e.action} · {e.outcome}
              {e.detail ? ` (${e.detail})` : ''}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
