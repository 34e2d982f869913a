/**
 * The provider interface: one implementation per kind (docker, lxc, qemu), one lifecycle.
 * Capabilities are declared statically; whether the provider is usable on this machine is
 * probed at run time. Providers never import child_process: container engines are reached
 * through their APIs, commands on a host through a Transport.
 */

import type { Duplex } from 'node:stream';
import type { ExecRequest, OpContext, ProviderInfo, ProviderKind, WorkspaceSpec, WorkspaceStatus } from '../api/index.js';
import type { ExecSession } from '../transport/index.js';
import type { PortSource } from './ports/scanner.js';

/** What a provider needs to find its workspace again, persisted by the agent across restarts. */
export interface WorkspaceHandle {
  workspaceId: string;
  kind: ProviderKind;
  /** Bumped when driverState's shape changes, so old handles can be migrated or refused. */
  version: number;
  driverState: Record<string, unknown>;
}

/** Static facts about a provider kind. */
export interface Capabilities {
  snapshots: boolean;
  pause: boolean;
  console: boolean;
  gpu: boolean;
}

/** Status as the provider sees it; `missing` means the workspace does not exist on this node. */
export type ProviderStatus = Extract<WorkspaceStatus, 'running' | 'stopped' | 'unknown'> | 'missing';

export interface StopOptions {
  timeoutMs: number;
  force: boolean;
}

/** One kind of workspace backend. */
export interface Provider {
  readonly kind: ProviderKind;
  readonly capabilities: Capabilities;
  /** Is it usable here, and if not why and what to do (never throws). */
  probe(): Promise<ProviderInfo>;
  /**
   * Checks that a workspace could be made from `image` on this node, making nothing: answers
   * the reference the provider would run, NOT_FOUND (field image) when there is no such image.
   * Optional: a provider without it is asked nothing before create.
   */
  findImage?(image: string): Promise<string>;
  /** Makes the workspace (image resolved, storage and limits set) without starting it. Leaves nothing behind on failure. */
  create(spec: WorkspaceSpec, op: OpContext): Promise<WorkspaceHandle>;
  start(h: WorkspaceHandle, op: OpContext): Promise<void>;
  stop(h: WorkspaceHandle, opts: StopOptions, op: OpContext): Promise<void>;
  /** Removes the workspace and everything it owns (home storage included). Idempotent. */
  destroy(h: WorkspaceHandle, op: OpContext): Promise<void>;
  inspect(h: WorkspaceHandle): Promise<ProviderStatus>;
  /** Called after an agent restart: re-adopt the workspace and report its status. */
  recover(h: WorkspaceHandle): Promise<ProviderStatus>;
  exec(h: WorkspaceHandle, req: ExecRequest): Promise<ExecSession>;
  /**
   * A TCP connection to `port` on the workspace's own loopback, opened from the node (so a
   * service that listens only on 127.0.0.1 inside is reachable). FAILED_PRECONDITION when
   * nothing listens there or the workspace is not running. Optional: without it, callers fall
   * back to a helper command run through exec.
   */
  connect?(h: WorkspaceHandle, port: number): Promise<Duplex>;
  /**
   * Where the workspace's listening sockets can be read (its /proc/net tables as its own
   * network sees them, and their owners); FAILED_PRECONDITION when it is not running.
   */
  portSource?(h: WorkspaceHandle): Promise<PortSource>;
  /** Every workspace this provider created on this node, found by berth's labels. */
  list(): Promise<WorkspaceHandle[]>;
}

/** Labels on everything berth creates, so nothing can be orphaned unseen. */
export const LABELS = {
  workspace: 'berth.workspace',
  node: 'berth.node',
  managed: 'berth.managed',
} as const;
