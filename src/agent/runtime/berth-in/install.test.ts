import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BerthError, type ExecRequest } from '../../../api/index.js';
import { asUser } from '../../../api/run-as.js';
import type { Provider, WorkspaceHandle } from '../../../providers/provider.js';
import { LocalTransport } from '../../../transport/index.js';
import { BerthInInstaller, namesBerthIn } from './install.js';
import { type BerthInBuild, findBerthIn } from './locate.js';

/**
 * A "workspace" that is a folder on this host: exec runs the real command here with every
 * /.berth in its arguments moved under the folder, so the real install script (sh, cat,
 * chmod, mv) and version check run as they would inside a workspace.
 */
class FolderWorkspace implements Pick<Provider, 'exec'> {
  readonly calls: string[][] = [];
  private readonly local = new LocalTransport();
  constructor(readonly dir: string) {}
  exec(_h: WorkspaceHandle, req: ExecRequest) {
    const cmd = req.cmd.map((a) => a.replaceAll('/.berth', `${this.dir}/.berth`));
    this.calls.push(cmd);
    return this.local.exec({ cmd, env: req.env });
  }
}

const handle: WorkspaceHandle = { workspaceId: 'ws-1', kind: 'docker', version: 1, driverState: {} };
/** A stand-in build: a script that prints its version as berth-in would. */
const fakeBuild = (version: string): BerthInBuild => ({ path: '/nowhere', binary: Buffer.from(`#!/bin/sh\necho "${version}"\n`), version });

let dir: string;
let ws: FolderWorkspace;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-in-install-'));
  ws = new FolderWorkspace(dir);
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

const log = pino({ level: 'silent' });
const provider = () => ws as unknown as Provider;

describe('BerthInInstaller', () => {
  it('copies the binary in, then leaves the same version alone', async () => {
    const installer = new BerthInInstaller(log, async () => fakeBuild('berth-in 1.2.3+aaaaaaaaaaaa'));
    await installer.ensure(provider(), handle);
    const target = join(dir, '.berth/bin/berth-in');
    expect(await readFile(target, 'utf8')).toContain('berth-in 1.2.3+aaaaaaaaaaaa');
    expect((await stat(target)).mode & 0o777).toBe(0o755);
    expect(await readdir(join(dir, '.berth/bin'))).toEqual(['berth-in']);
    // version (none yet), then the copy that also runs it once.
    expect(ws.calls.map((c) => c[1])).toEqual(['version', '-c']);
    // Checked since the workspace started: not asked again.
    ws.calls.length = 0;
    await installer.ensure(provider(), handle);
    expect(ws.calls).toEqual([]);
    // After a (re)start the version is asked again, and the same one is left alone.
    installer.started(handle.workspaceId);
    await installer.ensure(provider(), handle);
    expect(ws.calls.map((c) => c[1])).toEqual(['version']);
  });

  it('copies into a workspace it created with one exec when first needed, and checks again after forget', async () => {
    const installer = new BerthInInstaller(log, async () => fakeBuild('berth-in 1.2.3+aaaaaaaaaaaa'));
    installer.created(handle.workspaceId);
    // A restart before any use leaves it fresh: there is still nothing to ask.
    installer.started(handle.workspaceId);
    await installer.ensure(provider(), handle);
    expect(ws.calls.map((c) => c[1])).toEqual(['-c']);
    installer.forget(handle.workspaceId);
    ws.calls.length = 0;
    await installer.ensure(provider(), handle);
    expect(ws.calls.map((c) => c[1])).toEqual(['version']);
  });

  it('knows which commands run berth-in', () => {
    expect(namesBerthIn(['/.berth/bin/berth-in', 'ctl', 'status'])).toBe(true);
    expect(namesBerthIn(['/bin/sh', '-c', 'script', 'sh', '/tmp/x', '/.berth/bin/berth-in'])).toBe(true);
    expect(namesBerthIn(['true'])).toBe(false);
    expect(namesBerthIn(['/bin/sh', '-c', 'ls /.berth/bin/berth-in'])).toBe(false);
    // The same relay run as a spec's user.
    expect(namesBerthIn(asUser(['/bin/sh', '-c', 'script', 'sh', '/tmp/x', '/.berth/bin/berth-in'], 'dev'))).toBe(true);
    expect(namesBerthIn(asUser(['true'], 'dev'))).toBe(false);
  });

  it('copies into a fresh workspace with one exec, asking for no version first', async () => {
    const installer = new BerthInInstaller(log, async () => fakeBuild('berth-in 1.2.3+aaaaaaaaaaaa'));
    await installer.ensure(provider(), handle, true);
    expect(ws.calls.map((c) => c[1])).toEqual(['-c']);
    expect(await readFile(join(dir, '.berth/bin/berth-in'), 'utf8')).toContain('berth-in 1.2.3+aaaaaaaaaaaa');
  });

  it('replaces a different version, and runs one install for concurrent callers', async () => {
    await mkdir(join(dir, '.berth/bin'), { recursive: true });
    await writeFile(join(dir, '.berth/bin/berth-in'), '#!/bin/sh\necho "berth-in 0.0.1+old"\n');
    await chmod(join(dir, '.berth/bin/berth-in'), 0o755);
    const installer = new BerthInInstaller(log, async () => fakeBuild('berth-in 2.0.0+bbbbbbbbbbbb'));
    await Promise.all([installer.ensure(provider(), handle), installer.ensure(provider(), handle)]);
    expect(ws.calls.filter((c) => c[1] === '-c')).toHaveLength(1);
    expect(await readFile(join(dir, '.berth/bin/berth-in'), 'utf8')).toContain('2.0.0+bbbbbbbbbbbb');
  });

  it('fails with a BerthError when the copy fails, and tries again on the next use', async () => {
    // / not writable, as far as the script can tell: .berth is a file.
    await writeFile(join(dir, '.berth'), 'not a folder');
    const installer = new BerthInInstaller(log, async () => fakeBuild('berth-in 1.0.0+cccccccccccc'));
    const err = await installer.ensure(provider(), handle).catch((e) => e);
    expect(err).toBeInstanceOf(BerthError);
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.message).toMatch(/Could not copy berth-in into workspace ws-1 \(exit 1\).*needs \/bin\/sh/);
    await rm(join(dir, '.berth'));
    await installer.ensure(provider(), handle);
    expect(await readFile(join(dir, '.berth/bin/berth-in'), 'utf8')).toContain('berth-in 1.0.0+cccccccccccc');
  });

  it('fails when the copied binary does not answer with its version', async () => {
    const installer = new BerthInInstaller(log, async () => ({
      ...fakeBuild('berth-in 1.0.0+dddddddddddd'),
      binary: Buffer.from('#!/bin/sh\necho something else\n'),
    }));
    const err = await installer.ensure(provider(), handle).catch((e) => e);
    expect(err).toBeInstanceOf(BerthError);
    expect(err.message).toContain('does not run there (it printed "something else")');
  });

  it('reports a missing build as FAILED_PRECONDITION and looks again next time', async () => {
    let calls = 0;
    const installer = new BerthInInstaller(log, async () => {
      calls++;
      if (calls === 1) throw new BerthError('FAILED_PRECONDITION', 'no build');
      return fakeBuild('berth-in 1.0.0+eeeeeeeeeeee');
    });
    await expect(installer.ensure(provider(), handle)).rejects.toThrow('no build');
    await installer.ensure(provider(), handle);
    expect(calls).toBe(2);
  });
});

describe('findBerthIn', () => {
  it('finds dist/native/berth-in from a checkout, the compiled agent, the agent bundle and /opt/berth', async () => {
    const root = join(dir, 'checkout');
    await mkdir(join(root, 'native/berth-in'), { recursive: true }); // the Go sources: a folder, skipped
    await mkdir(join(root, 'dist/native'), { recursive: true });
    await writeFile(join(root, 'dist/native/berth-in'), 'bin');
    const opt = join(dir, 'opt/berth');
    await mkdir(join(opt, 'native'), { recursive: true });
    await writeFile(join(opt, 'native/berth-in'), 'bin');
    const saved = process.env.BERTH_IN_BINARY;
    delete process.env.BERTH_IN_BINARY;
    try {
      expect(await findBerthIn(join(root, 'src/agent/runtime/berth-in'))).toBe(join(root, 'dist/native/berth-in'));
      expect(await findBerthIn(join(root, 'dist/agent/runtime/berth-in'))).toBe(join(root, 'dist/native/berth-in'));
      expect(await findBerthIn(join(root, 'dist/agent-bundle'))).toBe(join(root, 'dist/native/berth-in'));
      expect(await findBerthIn(opt)).toBe(join(opt, 'native/berth-in'));
      expect(await findBerthIn(join(dir, 'elsewhere/a/b'))).toBeNull();
      process.env.BERTH_IN_BINARY = '/custom/berth-in';
      expect(await findBerthIn(opt)).toBe('/custom/berth-in');
    } finally {
      if (saved === undefined) delete process.env.BERTH_IN_BINARY;
      else process.env.BERTH_IN_BINARY = saved;
    }
  });
});
