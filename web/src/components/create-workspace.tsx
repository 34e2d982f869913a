/** The create form: provider, image, node and resources, then the operation's progress. */
import { useState } from 'preact/hooks';
import type { OperationEvent, ProviderKind } from '../../../src/api/index.js';
import { call, messageOf, watchOperation } from '../lib/api.js';
import { navigate } from '../lib/router.js';
import { ErrorBox } from './bits.js';

/** Creates a workspace and shows its progress until it runs or fails. */
export function CreateWorkspace({ onChanged }: { onChanged: () => void }) {
  const [form, setForm] = useState({ name: '', provider: 'docker' as ProviderKind, image: '', node: '', cpus: '', memory: '' });
  const [error, setError] = useState<string | null>(null);
  const [stage, setStage] = useState<string | null>(null);
  const [fraction, setFraction] = useState<number | null>(null);
  const [log, setLog] = useState<string[]>([]);
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setLog([]);
    setStage('submitting');
    try {
      const body = {
        name: form.name.trim(),
        provider: form.provider,
        ...(form.image.trim() ? { image: form.image.trim() } : {}),
        ...(form.node.trim() ? { node: form.node.trim() } : {}),
        ...(form.cpus.trim() ? { cpus: Number(form.cpus) } : {}),
        ...(form.memory.trim() ? { memory: form.memory.trim() } : {}),
      };
      const { operation } = await call('workspacesPost', { body });
      onChanged();
      const onEvent = (ev: OperationEvent) => {
        if (ev.type === 'progress') {
          setStage(ev.stage);
          setFraction(ev.fraction);
        } else if (ev.type === 'log') setLog((l) => [...l.slice(-50), ev.line]);
      };
      const done = await watchOperation(operation.id, onEvent);
      onChanged();
      if (done.status === 'failed') {
        setError(done.error?.message ?? 'The create failed; see the audit log.');
        setStage(null);
      } else {
        setStage('running');
        navigate(`/workspaces/${encodeURIComponent(body.name)}`);
      }
    } catch (err) {
      setError(messageOf(err));
      setStage(null);
    }
  };

  const busy = stage !== null && stage !== 'running';
  return (
    <form class="card create" onSubmit={submit} aria-label="New workspace">
      <div class="grid">
        <div>
          <label for="c-name">Name</label>
          <input id="c-name" required value={form.name} onInput={set('name')} pattern="[a-z0-9][a-z0-9-]*" title="lower-case letters, digits and dashes" />
        </div>
        <div>
          <label for="c-provider">Provider</label>
          <select id="c-provider" value={form.provider} onChange={set('provider')}>
            <option value="docker">docker</option>
            <option value="lxc">lxc</option>
            <option value="qemu">qemu</option>
          </select>
        </div>
        <div>
          <label for="c-image">Image</label>
          <input id="c-image" placeholder="the provider's default" value={form.image} onInput={set('image')} />
        </div>
        <div>
          <label for="c-node">Node</label>
          <input id="c-node" placeholder="chosen by the scheduler" value={form.node} onInput={set('node')} />
        </div>
        <div>
          <label for="c-cpus">CPUs</label>
          <input id="c-cpus" inputMode="decimal" value={form.cpus} onInput={set('cpus')} />
        </div>
        <div>
          <label for="c-memory">Memory</label>
          <input id="c-memory" placeholder="e.g. 2GiB" value={form.memory} onInput={set('memory')} />
        </div>
      </div>
      <button type="submit" disabled={busy}>
        Create
      </button>
      <ErrorBox message={error} />
      {stage && (
        <div class="progress" role="status" aria-live="polite">
          <span>{stage}</span>
          {fraction !== null && <progress max={1} value={fraction} aria-label="Progress" />}
          {log.length > 0 && <pre class="oplog">{log.join('\n')}</pre>}
        </div>
      )}
    </form>
  );
}
