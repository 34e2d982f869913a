import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findCycle, startWaves, unknownDependencies } from './service-graph.js';
import { parseComposeDuration } from './spec-durations.js';

/** A random acyclic graph: each service may depend only on services with a smaller index. */
const dag = fc
  .integer({ min: 1, max: 30 })
  .chain((n) =>
    fc
      .tuple(...Array.from({ length: n }, (_, i) => fc.subarray(Array.from({ length: i }, (_, j) => `s${j}`))))
      .map((deps) => Object.fromEntries(deps.map((d, i) => [`s${i}`, d]))),
  );

describe('service graph', () => {
  it('starts every service after all its dependencies, each exactly once', () => {
    fc.assert(
      fc.property(dag, (graph) => {
        const waves = startWaves(graph);
        const waveOf = new Map(waves.flatMap((w, i) => w.map((name) => [name, i] as const)));
        expect([...waveOf.keys()].sort()).toEqual(Object.keys(graph).sort());
        expect(waves.flat()).toHaveLength(Object.keys(graph).length);
        for (const [name, deps] of Object.entries(graph)) for (const dep of deps) expect(waveOf.get(dep)!).toBeLessThan(waveOf.get(name)!);
        expect(findCycle(graph)).toBeNull();
      }),
    );
  });

  it('finds a cycle added to any acyclic graph, spelt as a closed path of real edges', () => {
    fc.assert(
      fc.property(dag, fc.nat(), fc.nat(), (graph, a, b) => {
        const names = Object.keys(graph);
        const from = names[a % names.length];
        const to = names[b % names.length];
        // An edge from a lower to a higher-or-equal index closes a loop through the DAG (or a self-loop).
        const [lo, hi] = Number(from.slice(1)) <= Number(to.slice(1)) ? [from, to] : [to, from];
        const cyclic = { ...graph, [lo]: [...graph[lo], hi] };
        if (lo !== hi && !reaches(cyclic, hi, lo)) return;
        const cycle = findCycle(cyclic)!;
        expect(cycle).not.toBeNull();
        expect(cycle[0]).toBe(cycle[cycle.length - 1]);
        for (let i = 0; i + 1 < cycle.length; i++) expect(cyclic[cycle[i]]).toContain(cycle[i + 1]);
        expect(() => startWaves(cyclic)).toThrow(/cycle/);
      }),
    );
  });

  it('names unknown dependencies and spells a cycle out', () => {
    expect(unknownDependencies({ api: ['db', 'cache'], db: [] })).toEqual([['api', 'cache']]);
    expect(findCycle({ api: ['worker'], worker: ['api'], db: [] })).toEqual(['api', 'worker', 'api']);
    expect(findCycle({ a: ['a'] })).toEqual(['a', 'a']);
    expect(startWaves({ web: ['api'], api: ['db', 'migrate'], migrate: ['db'], db: [] })).toEqual([['db'], ['migrate'], ['api'], ['web']]);
  });

  it('does not recurse: a chain of thousands of services is fine', () => {
    const chain = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`s${i}`, i === 0 ? [] : [`s${i - 1}`]]));
    expect(findCycle(chain)).toBeNull();
  });
});

function reaches(graph: Record<string, string[]>, from: string, to: string): boolean {
  const seen = new Set<string>();
  const todo = [from];
  while (todo.length) {
    const n = todo.pop()!;
    if (n === to) return true;
    if (seen.has(n)) continue;
    seen.add(n);
    todo.push(...(graph[n] ?? []));
  }
  return false;
}

describe('compose durations', () => {
  it('reads what compose writes', () => {
    expect(parseComposeDuration('30s')).toBe(30_000);
    expect(parseComposeDuration('1m30s')).toBe(90_000);
    expect(parseComposeDuration('1h2m3s4ms')).toBe(3_723_004);
    expect(parseComposeDuration('1.5s')).toBe(1500);
    expect(parseComposeDuration('500ms')).toBe(500);
    expect(parseComposeDuration('2000us')).toBe(2);
  });

  it('refuses plain numbers, repeated or growing units, and anything past a day', () => {
    for (const bad of ['', '30', '5s1m', '1s1s', '1 s', '-1s', '25h', 's', '1x', '1e3s']) expect(parseComposeDuration(bad), bad).toBeUndefined();
  });

  it('never throws and never answers a negative or fractional millisecond count', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        const ms = parseComposeDuration(s);
        if (ms !== undefined) expect(Number.isInteger(ms) && ms >= 0 && ms <= 86_400_000).toBe(true);
      }),
    );
  });
});
