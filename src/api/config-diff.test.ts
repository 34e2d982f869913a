import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConfigResource } from './config.js';
import { changedFields, diffConfig, duplicateKey } from './config-diff.js';

const node = (name: string, labels: Record<string, string>, cordoned = false): ConfigResource => ({ kind: 'Node', name, spec: { labels, cordoned } });
const quota = (name: string, workspaces: number): ConfigResource => ({ kind: 'UserQuota', name, spec: { workspaces } });

describe('config diff', () => {
  it('lists added, changed (with fields) and, with prune, removed resources in kind order', () => {
    const live = [node('pa', { zone: 'eu' }), quota('bob', 1), quota('carol', 2)];
    const want = [quota('alice', 3), node('pa', { zone: 'us', tier: 'gold' }, true), quota('bob', 1)];
    expect(diffConfig(live, want, false)).toEqual([
      { kind: 'Node', name: 'pa', action: 'changed', fields: ['cordoned', 'labels.tier', 'labels.zone'] },
      { kind: 'UserQuota', name: 'alice', action: 'added', fields: [] },
    ]);
    expect(diffConfig(live, want, true).map((c) => `${c.action} ${c.name}`)).toEqual(['changed pa', 'added alice', 'removed carol']);
  });

  it('finds changes inside arrays and between kinds of value', () => {
    expect(changedFields({ a: [1, 2] }, { a: [1, 2] })).toEqual([]);
    expect(changedFields({ a: [1, 2] }, { a: [2, 1] })).toEqual(['a']);
    expect(changedFields({ a: { b: 1 } }, { a: 1 })).toEqual(['a']);
    expect(changedFields(1, 2)).toEqual(['(spec)']);
  });

  it('finds a resource declared twice', () => {
    expect(duplicateKey([node('a', {}), quota('a', 1), node('b', {})])).toBeNull();
    expect(duplicateKey([node('a', {}), node('a', { x: 'y' })])).toBe('Node/a');
  });

  const json = fc.jsonValue({ maxDepth: 3 });
  it('a value never differs from itself (or its copy), and differs from another exactly when its JSON does', () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        expect(changedFields(a, structuredClone(a))).toEqual([]);
        const canon = (v: unknown): string =>
          JSON.stringify(v, (_k, x) =>
            x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([p], [q]) => (p < q ? -1 : 1))) : x,
          );
        expect(changedFields(a, b).length === 0).toBe(canon(a) === canon(b));
      }),
    );
  });

  it('diffing a set against itself is empty, and against nothing with prune removes each once', () => {
    const resources = fc
      .uniqueArray(fc.record({ name: fc.stringMatching(/^[a-z]{1,6}$/), n: fc.nat(9) }), { selector: (r) => r.name, maxLength: 12 })
      .map((rs) => rs.map((r) => quota(r.name, r.n)));
    fc.assert(
      fc.property(resources, (rs) => {
        expect(diffConfig(rs, rs, true)).toEqual([]);
        const removed = diffConfig(rs, [], true);
        expect(removed.map((c) => c.name).sort()).toEqual(rs.map((r) => r.name).sort());
        expect(removed.every((c) => c.action === 'removed')).toBe(true);
        expect(diffConfig(rs, [], false)).toEqual([]);
      }),
    );
  });
});
