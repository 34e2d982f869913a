/**
 * A workspace's services (from its berth.yaml): state, health and restarts as the node last
 * reported them (`services.changed`), refreshed every 2 s, and a panel that follows one
 * service's logs (`berth svc logs -f`).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { WorkspaceService } from '../../../src/api/index.js';
import { call, messageOf } from '../lib/api.js';
import { when } from '../lib/format.js';
import { usePoll } from '../lib/poll.js';
import { followServiceLogs } from '../lib/service-logs.js';
import { ErrorBox, Status } from './bits.js';

/** Logs kept on the page per panel, so a chatty service cannot grow it without end. */
const MAX_LOG_CHARS = 200_000;

function health(s: WorkspaceService): string {
  if (!s.health) return 'no check';
  return s.healthFailures > 0 && s.health !== 'healthy' ? `${s.health} (${s.healthFailures} failed)` : s.health;
}

/** Follows one service's logs until closed. */
function LogsPanel({ name, service, onClose }: { name: string; service: string; onClose: () => void }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const abort = new AbortController();
    setText('');
    setError(null);
    setDone(false);
    followServiceLogs(name, service, 200, (chunk) => setText((t) => (t + chunk).slice(-MAX_LOG_CHARS)), abort.signal).then(
      () => setDone(true),
      (err) => {
        if (!abort.signal.aborted) setError(messageOf(err));
      },
    );
    return () => abort.abort();
  }, [name, service]);
  useEffect(() => {
    if (pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [text]);
  return (
    <section class="logs" aria-label={`Logs of ${service}`}>
      <h3>Logs of {service}</h3>
      <button type="button" onClick={onClose}>
        Close logs
      </button>
      <ErrorBox message={error} />
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling log must take keyboard focus so it can be scrolled without a mouse */}
      <pre ref={pre} tabIndex={0} role="log" aria-live="polite" aria-label={`Output of ${service}`}>
        {text || (done ? '(no output)' : 'Waiting for output…')}
      </pre>
      {done && <p class="hint">The log stream ended (the service or the workspace stopped).</p>}
    </section>
  );
}

/** The Services section of a workspace's page. */
export function ServicesSection({ name, running }: { name: string; running: boolean }) {
  const list = usePoll(() => call('workspaceServicesGet', { params: { name } }), 2000, [name]);
  const [logsOf, setLogsOf] = useState<string | null>(null);
  const data = list.data;
  return (
    <>
      <h2>Services</h2>
      <ErrorBox message={list.error} />
      {data && data.services.length === 0 && <p class="hint">No services: the workspace was not created from a spec with services (berth.yaml).</p>}
      {data && data.services.length > 0 && (
        <>
          {!data.observedAt && <p class="hint">The node has not reported the services yet{running ? '' : ' (the workspace is not running)'}.</p>}
          <table class="list services">
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">State</th>
                <th scope="col">Health</th>
                <th scope="col">Restarts</th>
                <th scope="col">Since</th>
                <th scope="col">Logs</th>
              </tr>
            </thead>
            <tbody>
              {data.services.map((s) => (
                <tr key={s.name} data-service={s.name}>
                  <th scope="row" data-label="Service">
                    {s.name}
                    {s.ports.length > 0 && <small> · {s.ports.map((p) => p.port).join(', ')}</small>}
                  </th>
                  <td data-label="State">
                    <Status value={s.state ?? 'unknown'} />
                    {s.message ? <small> {s.message}</small> : null}
                  </td>
                  <td data-label="Health" class="health">
                    {health(s)}
                  </td>
                  <td data-label="Restarts" class="restarts">
                    {s.restarts}
                  </td>
                  <td data-label="Since">{s.startedAt ? when(s.startedAt) : '—'}</td>
                  <td data-label="Logs">
                    <button
                      type="button"
                      aria-label={`Logs of ${s.name}`}
                      aria-pressed={logsOf === s.name}
                      onClick={() => setLogsOf(logsOf === s.name ? null : s.name)}
                    >
                      Logs
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {logsOf && <LogsPanel name={name} service={logsOf} onClose={() => setLogsOf(null)} />}
    </>
  );
}
