/**
 * Web UI previews: a TCP port's preview link. A click asks the server for a one-time link
 * bound to this browser session (POST /workspaces/NAME/previews with the CSRF header), so
 * signing out ends the preview's cookie too, and opens it in a new tab without an opener (the
 * preview's page gets no handle on this one).
 */
import { useState } from 'preact/hooks';
import { type Preview, previewPrefix, sshUserFor } from '../../../src/api/index.js';
import { call, messageOf } from '../lib/api.js';

/** Where a minted preview opens: its host (subdomain mode, on this server's port) or its path here. */
export function previewHref(p: Preview): string {
  if (!p.host) return p.path;
  const q = p.path.indexOf('?');
  return `${location.protocol}//${p.host}${location.port ? `:${location.port}` : ''}/${q >= 0 ? p.path.slice(q) : ''}`;
}

/** The link that opens port `port` of workspace `ws` (its ref as the API takes it) as `self` sees it. */
export function PreviewLink({ ws, port, self }: { ws: { ref: string; name: string; owner: string }; port: number; self: string }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Without a click (a middle click, a copied link) the plain path opens with a preview cookie already there.
  const plain = `${previewPrefix(sshUserFor(ws, self), port)}/`;
  const open = async (ev: MouseEvent) => {
    ev.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const minted = await call('previewPost', { params: { name: ws.ref }, body: { port } });
      window.open(previewHref(minted), '_blank', 'noopener,noreferrer');
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <a
        class="button"
        href={plain}
        target="_blank"
        rel="noopener noreferrer"
        onClick={open}
        aria-busy={busy}
        aria-label={`Open a preview of port ${port} in a new tab`}
      >
        Open preview
      </a>
      {error && (
        <span class="error" role="alert">
          {' '}
          {error}
        </span>
      )}
    </>
  );
}
