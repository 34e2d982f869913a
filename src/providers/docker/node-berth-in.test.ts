import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BerthInBuild } from '../berth-in-build.js';
import { NodeBerthIn, versionFileName } from './node-berth-in.js';

describe('the node berth-in that workspaces mount', () => {
  let dir: string;
  const build = (content: string, version = 'berth-in 0.1.0+0123456789ab'): (() => Promise<BerthInBuild>) => {
    return async () => ({ path: join(dir, 'build/berth-in'), binary: Buffer.from(content), version });
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-node-berth-in-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names each version its own file', () => {
    expect(versionFileName('berth-in 0.1.0+0123456789ab')).toBe('berth-in-0.1.0+0123456789ab');
    expect(versionFileName('berth-in ../../x y')).toBe('berth-in-.._.._x_y');
  });

  it('copies the build into its dir once per version, executable, and reuses it', async () => {
    const copies = join(dir, 'copies');
    const node = new NodeBerthIn(copies, build('v1'));
    const path = await node.path();
    expect(path).toBe(join(copies, 'berth-in-0.1.0+0123456789ab'));
    expect(await readFile(path!, 'utf8')).toBe('v1');
    expect((await stat(path!)).mode & 0o777).toBe(0o755);
    const inode = (await stat(path!)).ino;
    expect(await new NodeBerthIn(copies, build('v1')).path()).toBe(path);
    expect((await stat(path!)).ino).toBe(inode);
    // Another version is another file; the first stays for the containers that mount it.
    const next = await new NodeBerthIn(copies, build('v2', 'berth-in 0.2.0+ffffffffffff')).path();
    expect(next).toBe(join(copies, 'berth-in-0.2.0+ffffffffffff'));
    expect(await readFile(path!, 'utf8')).toBe('v1');
  });

  it('mounts the build itself without a dir, and nothing when there is no build', async () => {
    expect(await new NodeBerthIn(null, build('v1')).path()).toBe(join(dir, 'build/berth-in'));
    const missing = new NodeBerthIn(join(dir, 'copies'), () => Promise.reject(new Error('no berth-in')));
    expect(await missing.path()).toBeNull();
    // A dir it cannot write: no mount either, not a failed create.
    await writeFile(join(dir, 'file'), '');
    expect(await new NodeBerthIn(join(dir, 'file/copies'), build('v1')).path()).toBeNull();
  });

  it('gives up rather than hang a create on a file system that never answers', async () => {
    // Node's recursive mkdir never returns under /proc.
    const started = Date.now();
    expect(await new NodeBerthIn('/proc/berth-none/copies', build('v1')).path()).toBeNull();
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 15_000);

  it('puts a vanished copy back at its own path, and nothing outside its dir', async () => {
    const copies = join(dir, 'copies');
    const node = new NodeBerthIn(copies, build('v3'));
    const gone = join(copies, 'berth-in-0.0.9+000000000000');
    expect(await node.restore(gone)).toBe(true);
    expect(await readFile(gone, 'utf8')).toBe('v3');
    expect(await node.restore(gone)).toBe(false);
    expect(await node.restore(join(dir, 'elsewhere/berth-in'))).toBe(false);
    expect(await new NodeBerthIn(null, build('v3')).restore(gone)).toBe(false);
  });
});
