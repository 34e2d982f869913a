/**
 * The harness itself: what a killed run left behind is removed when the next run starts, and
 * a world's teardown leaves no namespace, link, process or record behind.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MultiNodeWorld } from './harness.js';
import { allocateRun, createNamespace, createSwitch, namespacePids, RECORD_DIR, writeRecord } from './netns.js';

/** Network namespaces and host links whose names contain the run id. */
function traces(runId: string): string[] {
  const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => l.includes(runId));
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => l.includes(runId));
  return [...namespaces, ...links, ...(existsSync(join(RECORD_DIR, `${runId}.json`)) ? ['record'] : [])];
}

describe('multinode harness', () => {
  it('cleans up after a run that was killed before its teardown', async () => {
    // A run whose owner is gone: a real switch, a namespace with a process in it, and its record.
    const dead = spawnSync('true');
    const { runId, subnet } = allocateRun();
    const netNs = `berth-${runId}-net`;
    const ns = `berth-${runId}-m1`;
    writeRecord({ runId, ownerPid: dead.pid!, hostLink: `bt${runId}h`, namespaces: [netNs, ns], pids: [] });
    createSwitch(netNs, `bt${runId}`, `bt${runId}h`, subnet);
    createNamespace(ns, netNs, `bt${runId}`, `bt${runId}0`, `${subnet}.10`);
    const sleeper = spawn('ip', ['netns', 'exec', ns, 'sleep', '600'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 200));
    expect(namespacePids(ns)).toContain(sleeper.pid);
    expect(traces(runId).length).toBeGreaterThan(0);

    const world = await MultiNodeWorld.create([{ name: 'a' }]);
    try {
      expect(traces(runId)).toEqual([]);
      await new Promise<void>((resolve) => (sleeper.exitCode !== null || sleeper.signalCode !== null ? resolve() : sleeper.once('exit', () => resolve())));
    } finally {
      await world.destroy();
    }
  });

  it('tears a world down completely', async () => {
    const world = await MultiNodeWorld.create([{ name: 'a' }, { name: 'b' }]);
    const pids = [world.server.proc.child.pid!, ...world.machines.map((m) => m.sshd.pid!)];
    expect(traces(world.runId).length).toBeGreaterThan(0);
    await world.destroy();
    expect(traces(world.runId)).toEqual([]);
    expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
  });
});
