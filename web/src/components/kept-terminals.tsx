/**
 * The terminals the workspace's node keeps (the web UI's shells, alive while nobody watches),
 * with a read-only view of each for pairing. The server lists yours, or every one for an
 * admin (or, once sharing exists, someone the workspace is shared with).
 */
import { call } from '../lib/api.js';
import { when } from '../lib/format.js';
import { usePoll } from '../lib/poll.js';
import { ErrorBox } from './bits.js';

/** Kept terminals of workspace `name`, each with a link to watch it. */
export function KeptTerminals({ name, self }: { name: string; self: string }) {
  const list = usePoll(() => call('workspaceTerminalsGet', { params: { name } }), 5000, [name]);
  const others = (list.data?.terminals ?? []).filter((t) => t.owner !== self);
  if (list.error) return <ErrorBox message={list.error} />;
  if (others.length === 0) return null;
  const base = `/workspaces/${encodeURIComponent(name)}/watch/`;
  return (
    <>
      <h3>Other people's terminals</h3>
      <ul class="kept-terminals">
        {others.map((t) => (
          <li key={t.id}>
            {t.owner} · {t.attached ? 'in use' : `idle since ${t.idleSince ? when(t.idleSince) : '—'}`}
            {t.viewers ? ` · ${t.viewers} watching` : ''} ·{' '}
            <a href={base + encodeURIComponent(t.id)} aria-label={`Watch ${t.owner}'s terminal (read-only)`}>
              Watch (read-only)
            </a>
          </li>
        ))}
      </ul>
    </>
  );
}
