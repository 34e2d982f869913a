import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { isStalePartial, partialSuffix, processAlive } from './partials.js';

/** The pid of a process that has exited (and been reaped), so no process has it now. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  if (child.pid === undefined) throw new Error('node did not start');
  return child.pid;
}

describe('partial build directories', () => {
  it('processAlive sees this process and its parent, not an exited one or a nonsense pid', async () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(process.ppid)).toBe(true);
    expect(processAlive(await deadPid())).toBe(false);
    expect(processAlive(0)).toBe(false);
    expect(processAlive(-1)).toBe(false);
    expect(processAlive(Number.NaN)).toBe(false);
  });

  it('a partial of this process is not stale; one of an exited process is', async () => {
    const mine = partialSuffix();
    expect(mine).toMatch(new RegExp(`^\\.partial-${process.pid}-[0-9a-f]{8}$`));
    expect(isStalePartial(`bookworm-abc${mine}`)).toBe(false);
    expect(isStalePartial(mine)).toBe(false);
    const dead = await deadPid();
    expect(isStalePartial(`bookworm-abc.partial-${dead}-0a1b2c3d`)).toBe(true);
    expect(isStalePartial(`.partial-${dead}-0a1b2c3d`)).toBe(true);
  });

  it('other names are never partials', () => {
    expect(isStalePartial('bookworm-abc')).toBe(false);
    expect(isStalePartial('.partial-')).toBe(false);
    expect(isStalePartial('x.partial-12-XYZ')).toBe(false);
  });
});
