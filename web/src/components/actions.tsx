/** A workspace's lifecycle buttons, each following its operation and showing how it ended. */
import { useState } from 'preact/hooks';
import type { Workspace } from '../../../src/api/index.js';
import { messageOf } from '../lib/api.js';
import { type Action, actionsFor, runAction } from '../lib/workspaces.js';
import { ErrorBox } from './bits.js';

const LABEL: Record<Action, string> = { start: 'Start', stop: 'Stop', restart: 'Restart', delete: 'Delete' };

/** Buttons for what the workspace can do now; `onDone` refreshes the caller. */
export function WorkspaceActions({ ws, onDone }: { ws: Workspace; onDone: () => void }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const act = async (action: Action) => {
    if (action === 'delete' && !confirm(`Delete workspace ${ws.ref}? Its files are gone for good.`)) return;
    setBusy(action);
    setError(null);
    onDone();
    try {
      const op = await runAction(ws.ref, action, (e) => e.type === 'progress' && setBusy(`${action}: ${e.stage}`));
      if (op.status === 'failed' && op.error) setError(op.error.message);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(null);
      onDone();
    }
  };
  return (
    <div class="row-actions">
      {actionsFor(ws.status).map((a) => (
        <button
          type="button"
          disabled={busy !== null}
          onClick={() => act(a)}
          aria-label={`${LABEL[a]} ${ws.ref}`}
          class={a === 'delete' ? 'danger' : undefined}
        >
          {LABEL[a]}
        </button>
      ))}
      {busy && (
        <span class="busy" role="status">
          {busy}…
        </span>
      )}
      <ErrorBox message={error} />
    </div>
  );
}
