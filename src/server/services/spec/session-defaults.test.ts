import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { withSessionDefaults } from './session-defaults.js';

const req = { cmd: ['sh', '-c', 'id -un; pwd'], tty: false, env: {} };
const FROM_HOME = ['/bin/sh', '-c', 'cd 2>/dev/null; exec "$@"', 'sh'];

describe('withSessionDefaults', () => {
  it('runs as the spec user in its workdir', () => {
    expect(withSessionDefaults(req, { user: 'dev', workdir: '/src' })).toEqual({
      ...req,
      cmd: ['su', '-s', '/bin/sh', '-c', `sh -c 'id -un; pwd'`, 'dev'],
      cwd: '/src',
    });
  });
  it('keeps a directory the request names (--workdir)', () => {
    expect(withSessionDefaults({ ...req, cwd: '/tmp' }, { workdir: '/src' }).cwd).toBe('/tmp');
    expect(withSessionDefaults({ ...req, cwd: '/tmp' }, { workdir: '/src' }, { home: true })).toEqual({ ...req, cwd: '/tmp' });
  });
  it('changes nothing without a spec, a user or a workdir; root needs no su', () => {
    expect(withSessionDefaults(req, null)).toEqual(req);
    expect(withSessionDefaults(req, {})).toEqual(req);
    expect(withSessionDefaults(req, { user: 'root' })).toEqual(req);
  });
  it('starts sshd-like sessions in the home directory of the user they run as, unless a workdir is set', () => {
    expect(withSessionDefaults(req, null, { home: true })).toEqual({ ...req, cmd: [...FROM_HOME, ...req.cmd] });
    // cd runs after su: the home is the spec user's.
    expect(withSessionDefaults(req, { user: 'dev' }, { home: true }).cmd).toEqual([
      'su',
      '-s',
      '/bin/sh',
      '-c',
      `/bin/sh -c 'cd 2>/dev/null; exec "$@"' sh sh -c 'id -un; pwd'`,
      'dev',
    ]);
    expect(withSessionDefaults(req, { user: 'dev', workdir: '/src' }, { home: true })).toEqual(withSessionDefaults(req, { user: 'dev', workdir: '/src' }));
  });
  it('gives a terminal session run through util-linux su a terminal of its own (--pty)', () => {
    const cmd = withSessionDefaults({ ...req, tty: true }, { user: 'dev', workdir: '/src' }).cmd;
    expect(cmd.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(cmd[2]).toContain('su --pty -s /bin/sh -c "$1" "$2"');
    expect(cmd.slice(3)).toEqual(['sh', `sh -c 'id -un; pwd'`, 'dev']);
  });
  it('never changes the environment, the tty or the size', () => {
    fc.assert(
      fc.property(
        fc.record({
          user: fc.option(fc.stringMatching(/^[a-z_][a-z0-9_-]{0,15}$/), { nil: undefined }),
          workdir: fc.option(fc.constant('/w'), { nil: undefined }),
        }),
        fc.boolean(),
        fc.boolean(),
        (spec, tty, home) => {
          const r = { cmd: ['echo', 'x'], tty, env: { A: '1' }, cols: 80, rows: 24 };
          const out = withSessionDefaults(r, spec, { home });
          expect({ tty: out.tty, env: out.env, cols: out.cols, rows: out.rows }).toEqual({ tty, env: { A: '1' }, cols: 80, rows: 24 });
          // Only a non-root user is reached through su (a terminal through a sh that picks su's flags).
          const viaSu = !!spec.user && spec.user !== 'root';
          expect(out.cmd[0] === 'su').toBe(viaSu && !tty);
          expect(out.cmd.at(-1) === spec.user && out.cmd.join(' ').includes('su ')).toBe(viaSu);
        },
      ),
    );
  });
});
