/** Admins: the users, and inviting someone. */
import { useState } from 'preact/hooks';
import { CopyField, ErrorBox, PageHead } from '../components/bits.js';
import { call, messageOf } from '../lib/api.js';
import { when } from '../lib/format.js';
import { usePoll } from '../lib/poll.js';

/** The users page. */
export function UsersPage() {
  const users = usePoll(() => call('usersList'), 10_000);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<'member' | 'admin'>('member');
  const [invite, setInvite] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const made = await call('invitesPost', { body: { email: email.trim(), role } });
      setInvite(made.code);
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <section>
      <PageHead title="Users" />
      <ErrorBox message={users.error} />
      {users.data && (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Email</th>
              <th scope="col">Since</th>
            </tr>
          </thead>
          <tbody>
            {users.data.users.map((u) => (
              <tr key={u.id}>
                <th scope="row" data-label="Name">
                  {u.name}
                </th>
                <td data-label="Role">{u.role}</td>
                <td data-label="Email">{u.email ?? '—'}</td>
                <td data-label="Since">{when(u.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Invite someone</h2>
      <form class="card inline" onSubmit={submit}>
        <div>
          <label for="i-email">Email</label>
          <input id="i-email" type="email" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
        </div>
        <div>
          <label for="i-role">Role</label>
          <select id="i-role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as 'member' | 'admin')}>
            <option value="member">member</option>
            <option value="admin">admin</option>
          </select>
        </div>
        <button type="submit">Invite</button>
      </form>
      <ErrorBox message={error} />
      {invite && <CopyField label="Invite code (shown once; they run berth register with it)" value={invite} />}
    </section>
  );
}
