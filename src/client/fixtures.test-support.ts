/** Sample API objects for unit tests, valid against the src/api schemas. */
import type { Image, Node, Operation, Workspace } from '../api/index.js';

/** A running docker workspace named `demo`, seen by its owner, unless overridden. */
export function sampleWorkspace(over: Partial<Workspace> = {}): Workspace {
  return {
    id: 'ws_1',
    name: 'demo',
    owner: 'admin',
    nodeId: 'node_1',
    nodeName: 'alpha',
    provider: 'docker',
    image: 'base',
    status: 'running',
    cpus: 2,
    memoryBytes: 2 * 1024 ** 3,
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    error: null,
    links: null,
    ...over,
    // As the server shows it to its owner unless overridden.
    ref: over.ref ?? over.name ?? 'demo',
  };
}

/** A finished, successful workspace.create operation unless overridden. */
export function sampleOperation(over: Partial<Operation> = {}): Operation {
  return {
    id: 'op_1',
    kind: 'workspace.create',
    target: 'workspace/demo',
    status: 'succeeded',
    stage: 'done',
    progress: 1,
    error: null,
    createdAt: '2024-01-01T00:00:00.000Z',
    finishedAt: '2024-01-01T00:00:05.000Z',
    ...over,
  };
}

/** An online node named `alpha` with docker usable and lxc not. */
export function sampleNode(over: Partial<Node> = {}): Node {
  return {
    id: 'node_1',
    name: 'alpha',
    labels: {},
    cordoned: false,
    status: 'online',
    agentVersion: '0.1.0',
    lastSeenAt: '2024-01-01T00:00:00.000Z',
    resources: { cpus: 4, memoryBytes: 8 * 1024 ** 3, memoryFreeBytes: 4 * 1024 ** 3, diskBytes: 100 * 1024 ** 3, diskFreeBytes: 50 * 1024 ** 3 },
    providers: [
      { kind: 'docker', usable: true, version: '24.0', details: {} },
      { kind: 'lxc', usable: false, reason: 'lxc is not installed', details: {} },
    ],
    workspaces: 1,
    createdAt: '2024-01-01T00:00:00.000Z',
    ...over,
  };
}

/** A busybox image named `base` on node alpha. */
export function sampleImage(over: Partial<Image> = {}): Image {
  return {
    name: 'base',
    ref: 'berth/base:latest',
    from: 'busybox',
    packages: [],
    sizeBytes: 2 * 1024 ** 2,
    createdAt: '2024-01-01T00:00:00.000Z',
    nodeName: 'alpha',
    ...over,
  };
}
