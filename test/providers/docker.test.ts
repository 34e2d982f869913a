/**
 * The Docker provider against the real engine: the shared conformance suite, plus what only
 * Docker has (names, labels and mounts as `docker inspect` shows them, an engine that is down).
 */

import { randomBytes } from 'node:crypto';
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthError, type OpContext, silentOp, type WorkspaceSpec } from '../../src/api/index.js';
import { ImageStore } from '../../src/images/index.js';
import { connectDocker, DockerProvider } from '../../src/providers/docker/index.js';
import type { WorkspaceHandle } from '../../src/providers/provider.js';
import { providerConformance } from '../../src/testing/provider-conformance.js';

const socketPath = process.env.BERTH_DOCKER_SOCKET ?? '/var/run/docker.sock';
const run = randomBytes(3).toString('hex');
const imageName = `conformance-${run}`;
const nodeId = `test-node-${run}`;

/** A provider whose start returns once the workspace's exec server answers. */
class FastDocker extends DockerProvider {
  override async start(h: WorkspaceHandle, op: OpContext): Promise<void> {
    await super.start(h, op);
    if (!(await this.execServerReady(h))) throw new Error(`the exec server of ${h.workspaceId} did not start`);
  }
}

/** Images and a provider factory shared by the conformance suite and the Docker-only tests. */
function fixtures(docker: Dockerode) {
  // pull: false keeps the tests off the network: nothing here may talk to a registry.
  const store = new ImageStore({ docker, pull: false });
  // Names starting berth-missing- resolve to a reference that does not exist, without asking
  // the store: create then fails at the container, after the home volume exists, which is
  // exactly the rollback the suite wants to see.
  const resolveImage = (image: string, op: OpContext): Promise<string> =>
    image.startsWith('berth-missing-') ? Promise.resolve(`berth/${image}:latest`) : store.resolveDocker(image, op);
  const provider = (node: string): DockerProvider => new DockerProvider({ nodeId: node, socketPath, resolveImage, docker: connectDocker(socketPath) });
  // The conformance suite's commands all go through berth-in's exec server: its start waits for
  // the server (which a real start leaves to the background) and fails when it does not answer.
  const fastProvider = (node: string): DockerProvider => new FastDocker({ nodeId: node, socketPath, resolveImage, docker: connectDocker(socketPath) });
  return { store, provider, fastProvider };
}

/** Every container and volume on the host that belongs to the workspace, by label or by name. */
async function leftovers(docker: Dockerode, workspaceId: string): Promise<string[]> {
  const label = { label: [`berth.workspace=${workspaceId}`] };
  const containers = await docker.listContainers({ all: true, filters: label });
  const volumes = (await docker.listVolumes({ filters: label })).Volumes ?? [];
  const named = (await docker.listVolumes({ filters: { name: [workspaceId] } })).Volumes ?? [];
  return [...containers.map((c) => `container ${c.Names.join(',')}`), ...[...new Set([...volumes, ...named].map((v) => v.Name))].map((n) => `volume ${n}`)];
}

providerConformance('docker', async () => {
  const docker = connectDocker(socketPath);
  const { store, fastProvider } = fixtures(docker);
  await store.build({ name: imageName, from: 'busybox', packages: [] }, silentOp());
  return {
    provider: fastProvider(nodeId),
    image: imageName,
    reopen: async () => fastProvider(nodeId),
    otherNode: async () => fastProvider(`${nodeId}-other`),
    leftovers: (id) => leftovers(docker, id),
    cleanup: async () => {
      await docker
        .getImage(`berth/${imageName}:latest`)
        .remove({ force: true })
        .catch(() => {});
    },
  };
});

describe('docker provider specifics', () => {
  const docker = connectDocker(socketPath);
  const { store, provider: make } = fixtures(docker);
  const provider = make(nodeId);
  const image = `specifics-${run}`;
  const handles: WorkspaceHandle[] = [];

  beforeAll(async () => {
    await store.build({ name: image, from: 'busybox', packages: [] }, silentOp());
  });

  afterAll(async () => {
    for (const h of handles) await provider.destroy(h, silentOp()).catch(() => {});
    await docker
      .getImage(`berth/${image}:latest`)
      .remove({ force: true })
      .catch(() => {});
  });

  it('names, labels and mounts the container and volume as documented', async () => {
    const id = `spec${run}${randomBytes(6).toString('hex')}`;
    const spec: WorkspaceSpec = { id, name: `dock-${run}`, provider: 'docker', image, cpus: 0.5, memoryBytes: 64 * 1024 ** 2, env: { A: '1' } };
    const h = await provider.create(spec, silentOp());
    handles.push(h);
    expect(h).toMatchObject({ workspaceId: id, kind: 'docker', version: 1 });
    expect(h.driverState).toMatchObject({ containerName: `berth-dock-${run}-${id.slice(0, 8)}`, volumeName: `berth-home-${id}` });
    const info = await docker.getContainer(String(h.driverState.containerId)).inspect();
    const labels = { 'berth.workspace': id, 'berth.node': nodeId, 'berth.managed': 'true' };
    expect(info.Name).toBe(`/berth-dock-${run}-${id.slice(0, 8)}`);
    expect(info.Config.Labels).toMatchObject(labels);
    expect(info.Config.Hostname).toBe(spec.name);
    expect(info.Config.Env).toContain('A=1');
    expect(info.HostConfig.NanoCpus).toBe(500_000_000);
    expect(info.HostConfig.Memory).toBe(64 * 1024 ** 2);
    // The home volume, and the node's berth-in, read-only, for the exec server (exec-server.ts).
    expect(info.Mounts).toEqual([
      expect.objectContaining({ Type: 'volume', Name: `berth-home-${id}`, Destination: '/root' }),
      expect.objectContaining({ Type: 'bind', Destination: '/sbin/berth-in', RW: false }),
    ]);
    const volume = await docker.getVolume(`berth-home-${id}`).inspect();
    expect(volume.Labels).toMatchObject(labels);
  });

  it('refuses more CPUs than the node has, naming the field', async () => {
    const spec: WorkspaceSpec = { id: `cpu${run}`, name: `cpu-${run}`, provider: 'docker', image, cpus: 1000, memoryBytes: null, env: {} };
    const err = await provider.create(spec, silentOp()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).code).toBe('INVALID_ARGUMENT');
    expect((err as BerthError).field).toBe('cpus');
  });

  it('reports NOT_FOUND from create for an image nobody built, with the build command', async () => {
    const spec: WorkspaceSpec = {
      id: `img${run}`,
      name: `img-${run}`,
      provider: 'docker',
      image: `never-built-${run}`,
      cpus: null,
      memoryBytes: null,
      env: {},
    };
    const err = (await provider.create(spec, silentOp()).catch((e: unknown) => e)) as BerthError;
    expect(err).toBeInstanceOf(BerthError);
    expect(err.code).toBe('NOT_FOUND');
    expect(err.field).toBe('image');
    expect(err.message).toContain(`berth image build never-built-${run} --from busybox`);
  });

  it('keeps a command running after close() from ending the whole session badly', async () => {
    const spec: WorkspaceSpec = {
      id: `cls${run}${randomBytes(4).toString('hex')}`,
      name: `cls-${run}`,
      provider: 'docker',
      image,
      cpus: null,
      memoryBytes: null,
      env: {},
    };
    const h = await provider.create(spec, silentOp());
    handles.push(h);
    await provider.start(h, silentOp());
    const session = await provider.exec(h, { cmd: ['cat'], tty: false, env: {} });
    session.close();
    expect(typeof (await session.wait())).toBe('number');
  });
});

describe('hostile names against the real engine', () => {
  const docker = connectDocker(socketPath);
  const { store, provider: make } = fixtures(docker);
  const image = `hostile-${run}`;
  const HOSTILE = ['../../../etc/passwd', 'x/../../y', 'http://evil/', '//evil/x', 'a\0b', 'x'.repeat(5000), '%2e%2e', 'x?all=1', 'x#y', 'a b', 'Ubuntu'];

  beforeAll(async () => {
    await store.build({ name: image, from: 'busybox', packages: [] }, silentOp());
  });

  afterAll(async () => {
    await docker
      .getImage(`berth/${image}:latest`)
      .remove({ force: true })
      .catch(() => {});
  });

  it('a path the engine answers with a redirect is an ordinary error, never a request to another host', async () => {
    // This is how the server died: the engine redirects a path with `..` to the cleaned one, and
    // the redirect was followed off the socket to a host named after a path segment.
    let uncaught: unknown = null;
    const onUncaught = (err: unknown): void => {
      uncaught = err;
    };
    process.on('uncaughtException', onUncaught);
    try {
      for (const raw of ['../../../etc/passwd', 'x/../../y', 'http://evil/']) {
        await expect(docker.getImage(raw).inspect()).rejects.toThrow();
      }
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toBeNull();
  });

  it('finds berth images and engine references without pulling, and refuses hostile ones before any request', async () => {
    expect(await store.findDocker(image)).toBe(`berth/${image}:latest`);
    expect(await store.findDocker(`berth/${image}:latest`)).toBe(`berth/${image}:latest`);
    await expect(store.findDocker(`nosuch-${run}:latest`)).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'image' });
    await expect(store.findDocker(`never-built-${run}`)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      field: 'image',
      message: expect.stringContaining(`berth image build never-built-${run}`),
    });
    for (const bad of HOSTILE) {
      await expect(store.findDocker(bad), JSON.stringify(bad.slice(0, 20))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'image' });
      await expect(store.resolveDocker(bad, silentOp())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'image' });
    }
  });

  it('create refuses hostile specs before anything exists on the engine', async () => {
    const provider = make(nodeId);
    for (const bad of HOSTILE) {
      const id = `hostile${run}${randomBytes(3).toString('hex')}`;
      const spec: WorkspaceSpec = { id, name: `hostile-${run}`, provider: 'docker', image: bad, cpus: null, memoryBytes: null, env: {} };
      await expect(provider.create(spec, silentOp())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'image' });
      expect(await leftovers(docker, id)).toEqual([]);
    }
  });

  it('a damaged handle cannot steer an engine call elsewhere', async () => {
    const provider = make(nodeId);
    const h = {
      workspaceId: 'x',
      kind: 'docker' as const,
      version: 1,
      driverState: { containerId: '../../images/json', containerName: 'x', volumeName: '../x' },
    };
    await expect(provider.start(h, silentOp())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(provider.inspect(h)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('docker engine down', () => {
  const missingSocket = `/nonexistent/berth-${run}/docker.sock`;
  const provider = new DockerProvider({ nodeId, socketPath: missingSocket, resolveImage: async (i) => i });

  it('probes unusable, naming the socket and how to start the engine', async () => {
    const started = Date.now();
    const info = await provider.probe();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(info.usable).toBe(false);
    expect(info.reason).toContain(missingSocket);
    expect(info.reason).toContain('dockerd');
    expect(info.details.socket).toBe(missingSocket);
  });

  it('fails create with PROVIDER_UNAVAILABLE', async () => {
    const spec: WorkspaceSpec = { id: `down${run}`, name: `down-${run}`, provider: 'docker', image: 'x', cpus: null, memoryBytes: null, env: {} };
    const err = (await provider.create(spec, silentOp()).catch((e: unknown) => e)) as BerthError;
    expect(err).toBeInstanceOf(BerthError);
    expect(err.code).toBe('PROVIDER_UNAVAILABLE');
    expect(err.message).toContain(missingSocket);
  });

  it('inspects as unknown rather than throwing', async () => {
    const h = {
      workspaceId: 'x',
      kind: 'docker' as const,
      version: 1,
      driverState: { containerId: 'abc', containerName: 'berth-x', volumeName: 'berth-home-x' },
    };
    expect(await provider.inspect(h)).toBe('unknown');
  });
});
