import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NAME_PATTERN } from '../api/index.js';
import { defaultDataDir, defaultNodeName, defaultStateDir } from './defaults.js';

describe('default directories', () => {
  it('prefers the environment, then root locations, then the user data home', () => {
    expect(defaultDataDir({ env: { BERTH_DATA_DIR: '/srv/b' }, home: '/home/u', isRoot: true })).toBe('/srv/b');
    expect(defaultDataDir({ env: {}, home: '/home/u', isRoot: true })).toBe('/var/lib/berth');
    expect(defaultDataDir({ env: {}, home: '/home/u', isRoot: false })).toBe('/home/u/.local/share/berth');
    expect(defaultDataDir({ env: { XDG_DATA_HOME: '/x' }, home: '/home/u', isRoot: false })).toBe('/x/berth');
    expect(defaultStateDir({ env: { BERTH_STATE_DIR: '/s' }, home: '/home/u', isRoot: false })).toBe('/s');
    expect(defaultStateDir({ env: {}, home: '/home/u', isRoot: true })).toBe('/var/lib/berth-agent');
    expect(defaultStateDir({ env: {}, home: '/home/u', isRoot: false })).toBe('/home/u/.local/share/berth-agent');
  });
});

describe('defaultNodeName', () => {
  it.each([
    ['build-01', 'build-01'],
    ['My_Box.local', 'my-box'],
    ['--weird--', 'weird'],
    ['', 'node'],
    ['___', 'node'],
    ['a'.repeat(80), 'a'.repeat(63)],
  ])('%s → %s', (host, name) => {
    expect(defaultNodeName(host)).toBe(name);
  });

  it('always produces a valid name', () => {
    fc.assert(
      fc.property(fc.string(), (host) => {
        expect(defaultNodeName(host)).toMatch(NAME_PATTERN);
      }),
    );
  });
});
