import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { FLEET_HEAP_AGENTS, FleetHeapPolicy } from './fleet-heap.js';

describe('FleetHeapPolicy', () => {
  it('pins the heap growth from the line on, and gives it back below half of it, never flapping in between', () => {
    const set: string[] = [];
    const policy = new FleetHeapPolicy((f) => set.push(f));
    for (const n of [0, 10, FLEET_HEAP_AGENTS - 1]) policy.update(n);
    expect(set).toEqual([]);
    policy.update(FLEET_HEAP_AGENTS);
    expect(set).toEqual(['--heap-growing-percent=40']);
    expect(policy.isPinned).toBe(true);
    // Around the line and down to half of it: nothing changes.
    for (const n of [FLEET_HEAP_AGENTS - 1, FLEET_HEAP_AGENTS + 5, FLEET_HEAP_AGENTS / 2]) policy.update(n);
    expect(set).toHaveLength(1);
    policy.update(FLEET_HEAP_AGENTS / 2 - 1);
    expect(set).toEqual(['--heap-growing-percent=40', '--heap-growing-percent=0']);
    expect(policy.isPinned).toBe(false);
  });

  it('looks on a timer, and stop() hands the growth back to V8', async () => {
    const set: string[] = [];
    const policy = new FleetHeapPolicy((f) => set.push(f), 3, 1);
    let agents = 5;
    policy.start(() => agents, 5);
    await new Promise((r) => setTimeout(r, 40));
    expect(set).toEqual(['--heap-growing-percent=40']);
    agents = 2;
    await new Promise((r) => setTimeout(r, 40));
    expect(set).toHaveLength(1);
    policy.stop();
    expect(set).toEqual(['--heap-growing-percent=40', '--heap-growing-percent=0']);
    policy.stop();
    expect(set).toHaveLength(2);
  });

  it("sets V8's real flag without harm (the process keeps running and collecting)", () => {
    const policy = new FleetHeapPolicy(undefined, 1, 1);
    try {
      policy.update(1);
      const junk = Array.from({ length: 2e5 }, (_, i) => ({ i }));
      expect(junk.length).toBe(2e5);
      expect(getHeapStatistics().used_heap_size).toBeGreaterThan(0);
    } finally {
      policy.stop();
    }
    expect(policy.isPinned).toBe(false);
  });
});
