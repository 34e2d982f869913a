import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isStalePartial, partialSuffix, processAlive, reapStalePartialsIn } from './partials.js';

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

describe('reapStalePartialsIn', () => {
  it('removes the partial dirs and temporary files of dead processes, and keeps live ones and finished builds', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-partials-'));
    try {
      const dead = await deadPid();
      await mkdir(join(dir, `disk-abc.partial-${dead}-0a1b2c3d`, 'inner'), { recursive: true });
      await mkdir(join(dir, `disk-abc${partialSuffix()}`));
      await mkdir(join(dir, 'disk-abc'));
      await writeFile(join(dir, `vm.json.${dead}.tmp`), '{');
      await writeFile(join(dir, `vm.json.${process.pid}.tmp`), '{');
      await writeFile(join(dir, 'vm.json'), '{}');
      const lines: string[] = [];
      expect((await reapStalePartialsIn(dir, (l) => lines.push(l))).sort()).toEqual([`disk-abc.partial-${dead}-0a1b2c3d`, `vm.json.${dead}.tmp`].sort());
      expect(lines).toHaveLength(2);
      const left = await readdir(dir);
      expect(left.filter((n) => !n.startsWith(`disk-abc.partial-${process.pid}-`)).sort()).toEqual(['disk-abc', 'vm.json', `vm.json.${process.pid}.tmp`]);
      expect(left.filter((n) => n.startsWith(`disk-abc.partial-${process.pid}-`))).toHaveLength(1);
      // A directory that does not exist yet is nothing to reap.
      expect(await reapStalePartialsIn(join(dir, 'nope'), () => {})).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
