/** Sign-in without a session: the link from `berth ui`, or an API token typed in. */
import { useState } from 'preact/hooks';
import type { WebSession } from '../../../src/api/index.js';
import { ErrorBox } from '../components/bits.js';
import { call, messageOf } from '../lib/api.js';

/** The sign-in page. */
export function SignIn({ error, onSignedIn }: { error: string | null; onSignedIn: (s: WebSession) => void }) {
  const [token, setToken] = useState('');
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      onSignedIn(await call('sessionPost', { body: { token: token.trim() } }));
    } catch (err) {
      setFailure(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="sign-in">
      <h1>Sign in to berth</h1>
      <p>
        Run <code>berth ui</code> in a terminal where you are logged in and open the link it prints, or paste an API token here (<code>berth token create</code>{' '}
        makes one).
      </p>
      <ErrorBox message={failure ?? error} />
      <form onSubmit={submit}>
        <label for="token">API token</label>
        <input id="token" type="password" autoComplete="off" required value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
