/**
 * The images pipeline against the real Docker engine: busybox builds, Debian builds through
 * debootstrap with the rootfs cache, listing by label and resolving --image.
 */

import { randomBytes } from 'node:crypto';
import { access, constants, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthError } from '../../src/api/index.js';
import { defaultCacheDir, ImageStore } from '../../src/images/index.js';
import { recordingOp } from '../../src/testing/recording-op.js';

const docker = new Dockerode({ socketPath: process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock' });
const suffix = randomBytes(3).toString('hex');
const built: string[] = [];
// pull: false keeps these tests off the network: nothing here may talk to a registry.
const store = new ImageStore({ docker, pull: false });

function imageName(what: string): string {
  const name = `t-${what}-${suffix}`;
  built.push(name);
  return name;
}

async function expectBerthError(p: Promise<unknown>, code: string, field?: string): Promise<BerthError> {
  const err = await p.then(
    () => {
      throw new Error(`expected a ${code} error, but the call succeeded`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BerthError);
  expect((err as BerthError).code).toBe(code);
  if (field !== undefined) expect((err as BerthError).field).toBe(field);
  return err as BerthError;
}

afterAll(async () => {
  for (const name of built)
    await docker
      .getImage(`berth/${name}:latest`)
      .remove({ force: true })
      .catch(() => {});
});

describe('busybox images', () => {
  const name = imageName('bb');

  it('builds in seconds with labels, PATH and CMD', async () => {
    const op = recordingOp();
    const started = Date.now();
    const image = await store.build({ name, from: 'busybox', packages: [] }, op);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(image).toMatchObject({ name, ref: `berth/${name}:latest`, from: 'busybox', packages: [] });
    expect(image.sizeBytes).toBeGreaterThan(100_000);
    expect(Number.isNaN(Date.parse(image.createdAt))).toBe(false);
    const info = await docker.getImage(image.ref).inspect();
    expect(info.Config.Labels).toMatchObject({ 'berth.image': name, 'berth.image.from': 'busybox', 'berth.image.packages': '', 'berth.managed': 'true' });
    expect(info.Config.Cmd).toEqual(['/bin/sh']);
    expect(info.Config.Env.some((e) => e.startsWith('PATH=') && e.includes('/bin'))).toBe(true);
    expect(op.stages.at(-1)).toEqual({ stage: 'done', fraction: 1 });
  });

  it('runs a shell with the applets, root user, home and a sticky /tmp', async () => {
    const container = await docker.createContainer({
      Image: `berth/${name}:latest`,
      Cmd: ['/bin/sh', '-c', 'id -un; echo ~; stat -c %a /tmp; ls /bin/wc /bin/stty >/dev/null && echo applets-ok'],
      Labels: { 'berth.managed': 'true', 'berth.test': 'images' },
    });
    try {
      await container.start();
      await container.wait();
      const logs = (await container.logs({ stdout: true, stderr: true })).toString('latin1');
      expect(logs).toContain('root');
      expect(logs).toContain('/root');
      expect(logs).toContain('1777');
      expect(logs).toContain('applets-ok');
    } finally {
      await container.remove({ force: true });
    }
  });

  it('is listed by label, and a rebuild replaces it', async () => {
    const before = (await store.list()).find((i) => i.name === name);
    expect(before).toBeDefined();
    const rebuilt = await store.build({ name, from: 'busybox', packages: [] }, recordingOp());
    const listed = (await store.list()).filter((i) => i.name === name);
    expect(listed).toHaveLength(1);
    expect(listed[0].ref).toBe(rebuilt.ref);
  });

  it('resolves a berth name to its tag and passes other local refs through', async () => {
    expect(await store.resolveDocker(name, recordingOp())).toBe(`berth/${name}:latest`);
    expect(await store.resolveDocker(`berth/${name}:latest`, recordingOp())).toBe(`berth/${name}:latest`);
  });

  it('answers NOT_FOUND naming the build command for an unknown name', async () => {
    const err = await expectBerthError(store.resolveDocker(`nothing-${suffix}`, recordingOp()), 'NOT_FOUND', 'image');
    expect(err.message).toContain(`berth image build nothing-${suffix} --from busybox`);
  });

  it('answers NOT_FOUND when a reference cannot be pulled', async () => {
    // A registry on a closed loopback port: the pull fails at once without leaving this machine.
    const pulling = new ImageStore({ docker });
    const err = await expectBerthError(pulling.resolveDocker('127.0.0.1:1/berth/none:latest', recordingOp()), 'NOT_FOUND', 'image');
    expect(err.message).toContain('berth image build');
  });

  it('answers INVALID_ARGUMENT for text that is no reference, without asking the engine', async () => {
    // `../../../etc/passwd` once reached the engine's URL path; the engine's redirect was
    // followed to a host named "etc", and that failure ended the process.
    const pulling = new ImageStore({ docker });
    for (const ref of ['../../../etc/passwd', 'a b', '?x', 'x\u0000y']) {
      await expectBerthError(pulling.resolveDocker(ref, recordingOp()), 'INVALID_ARGUMENT', 'image');
    }
  });
});

describe('invalid builds', () => {
  it('rejects unknown sources, bad names, bad packages and busybox with packages', async () => {
    await expectBerthError(store.build({ name: 'x', from: 'alpine', packages: [] }, recordingOp()), 'INVALID_ARGUMENT', 'from');
    await expectBerthError(store.build({ name: 'x', from: 'debian:', packages: [] }, recordingOp()), 'INVALID_ARGUMENT', 'from');
    await expectBerthError(store.build({ name: 'Bad_Name', from: 'busybox', packages: [] }, recordingOp()), 'INVALID_ARGUMENT', 'name');
    await expectBerthError(store.build({ name: 'x', from: 'debian:bookworm', packages: ['Bad Pkg'] }, recordingOp()), 'INVALID_ARGUMENT', 'packages');
    await expectBerthError(store.build({ name: 'x', from: 'busybox', packages: ['curl'] }, recordingOp()), 'INVALID_ARGUMENT', 'packages');
  });

  it('answers PROVIDER_UNAVAILABLE, naming the socket, when the engine is down', async () => {
    const socketPath = `/nonexistent/berth-${suffix}.sock`;
    const down = new ImageStore({ docker: new Dockerode({ socketPath }), pull: false });
    const err = await expectBerthError(down.build({ name: 'x', from: 'busybox', packages: [] }, recordingOp()), 'PROVIDER_UNAVAILABLE');
    expect(err.message).toContain(socketPath);
    await expectBerthError(down.list(), 'PROVIDER_UNAVAILABLE');
  });

  it('rejects a Debian suite debootstrap does not know', async () => {
    await expectBerthError(store.build({ name: 'x', from: 'debian:nosuchsuite', packages: [] }, recordingOp()), 'INVALID_ARGUMENT', 'from');
  });

  it('refuses a cache directory inside a git clone', async () => {
    const inClone = new ImageStore({ docker, cacheDir: `${process.cwd()}/.berth-cache-${suffix}`, pull: false });
    await expectBerthError(inClone.build({ name: 'x', from: 'debian:bookworm', packages: [] }, recordingOp()), 'FAILED_PRECONDITION');
  });
});

describe('debian images', () => {
  const name = imageName('deb');

  beforeAll(async () => {
    // Fail loudly rather than skip: a node without debootstrap cannot offer Debian images.
    const found = await Promise.any(['/usr/sbin/debootstrap', '/usr/bin/debootstrap', '/sbin/debootstrap'].map((p) => access(p, constants.X_OK))).then(
      () => true,
      () => false,
    );
    if (!found) throw new Error('debootstrap is not installed: run `apt-get install debootstrap`; the Debian image tests need it.');
  });

  it('builds debian:bookworm with a package through debootstrap into the cache', async () => {
    const op = recordingOp();
    const image = await store.build({ name, from: 'debian:bookworm', packages: ['procps'] }, op);
    expect(image).toMatchObject({ name, from: 'debian:bookworm', packages: ['procps'] });
    expect(op.lines.some((l) => l.startsWith('cache hit') || l.startsWith('cache miss'))).toBe(true);
    expect(store.cacheDir).toBe(defaultCacheDir());
    const container = await docker.createContainer({
      Image: image.ref,
      Cmd: ['/bin/sh', '-c', 'cat /etc/debian_version; command -v ps; id -un'],
      Labels: { 'berth.managed': 'true', 'berth.test': 'images' },
    });
    try {
      await container.start();
      await container.wait();
      const logs = (await container.logs({ stdout: true, stderr: true })).toString('latin1');
      expect(logs).toMatch(/12\.\d+/);
      expect(logs).toContain('/usr/bin/ps');
      expect(logs).toContain('root');
    } finally {
      await container.remove({ force: true });
    }
  });

  it('reuses the cached rootfs on a second build with the same suite and packages', async () => {
    const op = recordingOp();
    // Same packages in another order and with a duplicate: the cache key is the sorted set.
    await store.build({ name, from: 'debian:bookworm', packages: ['procps', 'procps'] }, op);
    expect(op.lines.some((l) => l.startsWith('cache hit'))).toBe(true);
    expect(op.lines.some((l) => l.startsWith('$ debootstrap'))).toBe(false);
  });

  it('leaves no partial rootfs when a build is cancelled, and reaps ones left by dead builds', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'berth-cache-test-'));
    try {
      // A leftover of a build whose process is gone (pid 2^22 is above Linux's pid_max default).
      const stale = join(cacheDir, 'rootfs', 'debian-bookworm-minbase.partial-4194304-abcd1234');
      await mkdir(join(stale, 'etc'), { recursive: true });
      const cancel = new AbortController();
      const op = recordingOp(cancel.signal);
      const original = op.progress;
      op.progress = (stage, fraction) => {
        original(stage, fraction);
        if (stage === 'debootstrap: downloading') cancel.abort(new Error('cancelled by the test'));
      };
      const cold = new ImageStore({ docker, cacheDir, pull: false });
      await expect(cold.build({ name: 'never', from: 'debian:bookworm', packages: [] }, op)).rejects.toThrow('cancelled by the test');
      expect(op.lines.some((l) => l.includes('left by an interrupted build'))).toBe(true);
      expect(await readdir(join(cacheDir, 'rootfs'))).toEqual([]);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});
