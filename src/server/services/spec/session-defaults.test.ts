import { describe, expect, it } from 'vitest';
import { withSessionDefaults } from './session-defaults.js';

const req = { cmd: ['sh', '-c', 'id -un; pwd'], tty: false, env: {} };

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
  });
  it('changes nothing without a spec, a user or a workdir; root needs no su', () => {
    expect(withSessionDefaults(req, null)).toEqual(req);
    expect(withSessionDefaults(req, {})).toEqual(req);
    expect(withSessionDefaults(req, { user: 'root' })).toEqual(req);
  });
});
