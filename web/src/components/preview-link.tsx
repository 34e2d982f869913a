/**
 * Opens an HTTP preview of a workspace port in a new browser tab: the server mints a one-time
 * token (`POST /workspaces/:name/previews`, as `berth preview` does) and the tab trades it for
 * a preview cookie at `/w/NAME/p/PORT/`.
 */
import { useState } from 'preact/hooks';
import { call, messageOf } from '../lib/api.js';

/** A button that opens port `port` of workspace `name` in a new tab. */
export function PreviewButton({ name, port }: { name: string; port: number }) {
  const [error, setError] = useState<string | null>(null);
  const open = async () => {
    setError(null);
    // Opened now, inside the click, so no popup blocker stops it; pointed at the preview once the token is there.
    const tab = window.open('about:blank', '_blank');
    try {
      const preview = await call('previewPost', { params: { name }, body: { port } });
      if (!tab) return location.assign(preview.path);
      tab.opener = null;
      tab.location.href = preview.path;
    } catch (err) {
      tab?.close();
      setError(messageOf(err));
    }
  };
  return (
    <>
      <button type="button" onClick={() => void open()} aria-label={`Preview port ${port} in a new tab`}>Preview</button>
      {error && <span role="alert" class="error-inline"> {error}</span>}
    </>
  );
}
