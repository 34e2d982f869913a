/**
 * The dependency graph of a workspace's services: which names are unknown, where the cycles
 * are (spelled out, `api → worker → api`), and the order to start them in. Pure functions over
 * `{ name: [dependencies] }`, so the spec's validation, the CLI and the in-workspace supervisor
 * all agree on one answer.
 */

/** Each service's dependencies by name. */
export type DependencyMap = Record<string, readonly string[]>;

/** Dependencies that name no service, as [service, missing dependency] pairs, in spec order. */
export function unknownDependencies(graph: DependencyMap): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, deps] of Object.entries(graph)) {
    for (const dep of deps) if (!Object.hasOwn(graph, dep)) out.push([name, dep]);
  }
  return out;
}

/**
 * One dependency cycle, as the path that closes it (`['api', 'worker', 'api']`), or null when
 * there is none. Unknown dependencies are ignored here (unknownDependencies reports them).
 */
export function findCycle(graph: DependencyMap): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  // Iterative depth-first search: a spec may chain many services, and recursion depth is not
  // something a file a user wrote should decide.
  for (const root of Object.keys(graph).sort()) {
    if (state.has(root)) continue;
    const frames: Array<{ name: string; next: number }> = [{ name: root, next: 0 }];
    state.set(root, 'open');
    stack.push(root);
    while (frames.length > 0) {
      const top = frames[frames.length - 1];
      const deps = graph[top.name] ?? [];
      if (top.next >= deps.length) {
        state.set(top.name, 'done');
        stack.pop();
        frames.pop();
        continue;
      }
      const dep = deps[top.next++];
      if (!Object.hasOwn(graph, dep)) continue;
      const seen = state.get(dep);
      if (seen === 'open') return [...stack.slice(stack.indexOf(dep)), dep];
      if (seen === undefined) {
        state.set(dep, 'open');
        stack.push(dep);
        frames.push({ name: dep, next: 0 });
      }
    }
  }
  return null;
}

/**
 * The start order as waves: every service comes in a wave after all its dependencies, and
 * services in one wave may start together. Names within a wave are sorted, so the order is the
 * same for the same spec. Throws when the graph has a cycle or an unknown dependency (callers
 * validate first).
 */
export function startWaves(graph: DependencyMap): string[][] {
  const remaining = new Map(Object.entries(graph).map(([name, deps]) => [name, new Set(deps)]));
  const waves: string[][] = [];
  while (remaining.size > 0) {
    const ready = [...remaining]
      .filter(([, deps]) => deps.size === 0)
      .map(([name]) => name)
      .sort();
    if (ready.length === 0)
      throw new Error(`services ${[...remaining.keys()].join(', ')} cannot be ordered: their dependencies form a cycle or name no service`);
    for (const name of ready) remaining.delete(name);
    for (const deps of remaining.values()) for (const name of ready) deps.delete(name);
    waves.push(ready);
  }
  return waves;
}
