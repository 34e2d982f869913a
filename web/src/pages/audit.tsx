/** The audit log, filtered by user, time and (here) action or outcome. */
import { useState } from 'preact/hooks';
import { ErrorBox, PageHead } from '../components/bits.js';
import { call } from '../lib/api.js';
import { when } from '../lib/format.js';
import { usePoll } from '../lib/poll.js';

/** The audit page; admins may filter by any user, members see their own entries. */
export function AuditPage({ admin }: { admin: boolean }) {
  const [user, setUser] = useState('');
  const [since, setSince] = useState('');
  const [text, setText] = useState('');
  const [applied, setApplied] = useState({ user: '', since: '' });
  const log = usePoll(
    () =>
      call('auditList', { query: { limit: 500, user: applied.user || undefined, since: applied.since ? new Date(applied.since).toISOString() : undefined } }),
    10_000,
    [applied.user, applied.since],
  );
  const shown = (log.data?.entries ?? []).filter((e) => !text || `${e.action} ${e.target ?? ''} ${e.outcome} ${e.actor ?? ''}`.includes(text));
  return (
    <section>
      <PageHead title="Audit log" />
      <form
        class="card inline"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied({ user: user.trim(), since });
        }}
        aria-label="Filter the audit log"
      >
        {admin && (
          <div>
            <label for="a-user">User</label>
            <input id="a-user" value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} />
          </div>
        )}
        <div>
          <label for="a-since">Since</label>
          <input id="a-since" type="datetime-local" value={since} onInput={(e) => setSince((e.target as HTMLInputElement).value)} />
        </div>
        <button type="submit">Apply</button>
        <div>
          <label for="a-text">Action, target or outcome contains</label>
          <input id="a-text" type="search" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </div>
      </form>
      <ErrorBox message={log.error} />
      {log.data && (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Outcome</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => (
              <tr key={e.id}>
                <td data-label="When">{when(e.at)}</td>
                <td data-label="Who">{e.actor ?? '—'}</td>
                <th scope="row" data-label="Action">
                  {e.action}
                </th>
                <td data-label="Target">{e.target ?? '—'}</td>
                <td data-label="Outcome">
                  {e.outcome}
                  {e.detail ? ` (${e.detail})` : ''}
                </td>
                <td data-label="From">{e.sourceIp ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
