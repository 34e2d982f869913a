/**
 * The shell: reads the session (GET /session), shows the sign-in form without one, else the
 * navigation and the page for the current path. Admin-only pages appear for admins.
 */
import { useEffect, useState } from 'preact/hooks';
import { BerthError, type WebSession } from '../../src/api/index.js';
import { ErrorBox } from './components/bits.js';
import { call, hasCsrf, messageOf, setCsrf } from './lib/api.js';
import { navigate, onLinkClick, usePath } from './lib/router.js';
import { AuditPage } from './pages/audit.js';
import { ImagesPage } from './pages/images.js';
import { NodesPage } from './pages/nodes.js';
import { SignIn } from './pages/sign-in.js';
import { UsersPage } from './pages/users.js';
import { WorkspacePage } from './pages/workspace.js';
import { WorkspacesPage } from './pages/workspaces.js';

/** The page for a path. */
function route(path: string, session: WebSession) {
  const ws = /^\/workspaces\/([^/]+)(\/terminal)?$/.exec(path);
  if (ws) return <WorkspacePage name={decodeURIComponent(ws[1]!)} terminal={!!ws[2]} self={session.user.name} />;
  // Pairing: a read-only view of someone's kept terminal.
  const watch = /^\/workspaces\/([^/]+)\/watch\/([A-Za-z0-9_-]{8,64})$/.exec(path);
  if (watch) return <WorkspacePage name={decodeURIComponent(watch[1]!)} terminal={false} watch={watch[2]!} self={session.user.name} />;
  if (path === '/nodes') return <NodesPage admin={session.user.role === 'admin'} />;
  if (path === '/images') return <ImagesPage />;
  if (path === '/users' && session.user.role === 'admin') return <UsersPage />;
  if (path === '/audit') return <AuditPage admin={session.user.role === 'admin'} />;
  return <WorkspacesPage />;
}

/** The whole UI. */
export function App() {
  const path = usePath();
  const [session, setSession] = useState<WebSession | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);

  const load = async () => {
    try {
      // No CSRF value in the page: no session this page may use (signed out, or a browser that
      // sends no Sec-Fetch headers); signing in makes one.
      if (!hasCsrf()) throw new BerthError('UNAUTHENTICATED', 'Not signed in.');
      const s = await call('sessionGet');
      setCsrf(s.csrf);
      setSession(s);
    } catch (err) {
      setCsrf(null);
      setSession(null);
      const failed = new URLSearchParams(location.search).get('sign-in') === 'failed';
      setError(failed ? 'That sign-in link has expired or was already used; run `berth ui` for a new one.' : null);
      if ((err as { code?: string }).code !== 'UNAUTHENTICATED') setError(messageOf(err));
    }
  };
  useEffect(() => void load(), []);

  const signOut = async () => {
    try {
      await call('sessionDelete');
    } catch (err) {
      setError(messageOf(err));
    }
    setCsrf(null);
    setSession(null);
    navigate('/');
  };

  if (session === undefined) return <p class="loading">Loading…</p>;
  if (session === null)
    return (
      <SignIn
        error={error}
        onSignedIn={(s) => {
          setCsrf(s.csrf);
          setSession(s);
          setError(null);
          navigate('/');
        }}
      />
    );
  const admin = session.user.role === 'admin';
  const nav: Array<[string, string]> = [
    ['/', 'Workspaces'],
    ['/nodes', 'Nodes'],
    ['/images', 'Images'],
    ...(admin ? [['/users', 'Users'] as [string, string]] : []),
    ['/audit', 'Audit log'],
  ];
  const current = (href: string) => (href === '/' ? path === '/' || path.startsWith('/workspaces') : path === href);
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: one delegated handler turns the page's own links into in-app navigation; the links stay the interactive elements
    // biome-ignore lint/a11y/useKeyWithClickEvents: see above (a link's Enter fires the same click)
    <div class="shell" onClick={onLinkClick}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/">
          berth
        </a>
        <nav aria-label="Main">
          {nav.map(([href, label]) => (
            <a href={href} aria-current={current(href) ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <div class="who">
          <span>
            {session.user.name} ({session.user.role})
          </span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <ErrorBox message={error} />
        {route(path, session)}
      </main>
    </div>
  );
}
