/**
 * Pure translation of a berth workspace spec into Docker terms: names, labels, resource
 * limits and the container create options. Kept free of I/O so every rule is unit-tested.
 */

import type Dockerode from 'dockerode';
import type { WorkspaceSpec } from '../../api/index.js';
import { validateLimits as checkLimits } from '../limits.js';
import { containerName } from '../naming.js';
import { LABELS } from '../provider.js';

/** Docker refuses memory limits below 6 MiB; berth's own floor (MIN_MEMORY_BYTES) is higher still. */
const DOCKER_MIN_MEMORY = 6 * 1024 ** 2;

/**
 * PID 1 of every workspace: it idles, and exits at once on SIGTERM so a stop takes
 * milliseconds instead of the full timeout. `sleep & wait` keeps the shell able to run the trap.
 */
export const KEEPALIVE_COMMAND = ['/bin/sh', '-c', "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"];

/**
 * Where the node's berth-in is bind-mounted (read-only) into workspaces made since the exec
 * server starts with the container, as the engine mounts its own init at /sbin/docker-init.
 * Not /.berth/bin/berth-in, the copy the agent installs and replaces on demand (services,
 * relays), which a read-only mount would forbid; and not under /.berth at all, which stays
 * the workspace's own to remove (a mount point in it could not be).
 */
export const NODE_BERTH_IN_PATH = '/sbin/berth-in';

/** Variables the keepalive's shell adds to its environment, which an engine exec's process has not. */
const SHELL_ADDED_ENV = ['PWD', 'OLDPWD', 'SHLVL'];

/** `s` as one single-quoted shell word. */
function shellQuote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

/**
 * PID 1's command when the node's berth-in is mounted: KEEPALIVE_COMMAND that first starts
 * berth-in's exec server in the background, at every start of the container, so a command
 * never waits for an engine exec to start it. The server's environment is the container's
 * own, as an engine exec's is: the variables the shell added are dropped (unless the
 * workspace sets them), and its output goes nowhere (not into the container's log).
 */
export function keepaliveWithExecServer(workspaceId: string, env: Record<string, string>): string[] {
  const unset = SHELL_ADDED_ENV.filter((k) => !Object.hasOwn(env, k)).join(' ');
  const server = `${NODE_BERTH_IN_PATH} exec-server --workspace ${shellQuote(workspaceId)}`;
  const start = `(${unset ? `unset ${unset}; ` : ''}exec ${server} </dev/null >/dev/null 2>&1) &`;
  return ['/bin/sh', '-c', `trap 'exit 0' TERM INT; ${start} while :; do sleep 3600 & wait $!; done`];
}

/** Where the home volume is mounted: berth images run as root. */
export const HOME_PATH = '/root';

/** Name of a workspace's home volume. Uses the full id: the volume outlives nothing but must never collide. */
export function volumeName(workspaceId: string): string {
  return `berth-home-${workspaceId.replace(/[^A-Za-z0-9_.-]/g, '')}`;
}

/** Labels on the container and the volume of a workspace. */
export function workspaceLabels(workspaceId: string, nodeId: string): Record<string, string> {
  return { [LABELS.workspace]: workspaceId, [LABELS.node]: nodeId, [LABELS.managed]: 'true' };
}

/** Engine list filter for everything berth made on this node (optionally for one workspace). */
export function labelFilter(nodeId: string, workspaceId?: string): { label: string[] } {
  const label = [`${LABELS.managed}=true`, `${LABELS.node}=${nodeId}`];
  if (workspaceId !== undefined) label.push(`${LABELS.workspace}=${workspaceId}`);
  return { label };
}

/** Docker's NanoCpus for a CPU count (0 means no limit). */
export function nanoCpus(cpus: number | null): number {
  return cpus === null ? 0 : Math.round(cpus * 1e9);
}

/** Docker's Memory for a byte count, whole bytes (0 means no limit). */
export function memoryBytes(bytes: number | null): number {
  return bytes === null ? 0 : Math.floor(bytes);
}

/** Checks the limits against what this engine's host can give; INVALID_ARGUMENT naming the field otherwise. */
export function validateLimits(spec: Pick<WorkspaceSpec, 'cpus' | 'memoryBytes'>, host: { cpus: number; memoryBytes: number }): void {
  return checkLimits(spec, host, DOCKER_MIN_MEMORY);
}

/** `K=V` strings for the engine, in a stable order. */
export function envList(env: Record<string, string>): string[] {
  return Object.keys(env)
    .sort()
    .map((k) => `${k}=${env[k]}`);
}

/**
 * The create options of a workspace container. `berthIn`: the node's berth-in binary, mounted
 * read-only at NODE_BERTH_IN_PATH so the exec server runs from the container's start; null
 * (no binary on the node, or an engine on another host) keeps the plain keepalive.
 */
export function containerCreateOptions(spec: WorkspaceSpec, image: string, nodeId: string, berthIn: string | null = null): Dockerode.ContainerCreateOptions {
  const memory = memoryBytes(spec.memoryBytes);
  const mounts: Dockerode.MountSettings[] = [{ Type: 'volume', Source: volumeName(spec.id), Target: HOME_PATH }];
  if (berthIn) mounts.push({ Type: 'bind', Source: berthIn, Target: NODE_BERTH_IN_PATH, ReadOnly: true });
  return {
    name: containerName(spec),
    Hostname: spec.name,
    Image: image,
    Cmd: berthIn ? keepaliveWithExecServer(spec.id, spec.env) : KEEPALIVE_COMMAND,
    // An image's own entrypoint would swallow our command; workspaces always idle the same way.
    Entrypoint: [],
    Env: envList(spec.env),
    WorkingDir: HOME_PATH,
    Labels: workspaceLabels(spec.id, nodeId),
    HostConfig: {
      // tini as PID 1 reaps the zombies that exec'd shells leave behind.
      Init: true,
      NanoCpus: nanoCpus(spec.cpus),
      Memory: memory,
      // Swap equal to memory means "no swap beyond the limit", so the limit means what it says.
      ...(memory > 0 ? { MemorySwap: memory } : {}),
      Mounts: mounts,
      // The agent owns the desired state and restarts workspaces itself; the engine must not race it.
      RestartPolicy: { Name: 'no' },
    },
  };
}
