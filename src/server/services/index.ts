/** The server's services, built once and handed to the HTTP layer. */
import type { Logger } from 'pino';
import { AgentHub } from '../agents/hub.js';
import { AuditLog } from '../audit/audit.js';
import { OperationAccess } from '../operations/access.js';
import { Operations } from '../operations/operations.js';
import { SshNodesService } from '../ssh-nodes/service.js';
import type { Store } from '../store/open.js';
import { ImagesService } from './images.js';
import { NodesService } from './nodes.js';
import { UsersService } from './users.js';
import { WorkspacesService } from './workspaces.js';

/** Everything the routes call. */
export interface Services {
  ops: Operations;
  /** Operations as the calling user may see and cancel them. */
  opAccess: OperationAccess;
  hub: AgentHub;
  nodes: NodesService;
  workspaces: WorkspacesService;
  images: ImagesService;
  users: UsersService;
  audit: AuditLog;
  /** fleet: adding and upgrading nodes over SSH. */
  sshNodes: SshNodesService;
}

/** Wires the services together. */
export function createServices(store: Store, log: Logger, opts: { heartbeatMs: number }): Services {
  const ops = new Operations(store, log.child({ component: 'operations' }));
  const hub = new AgentHub(store, ops, log.child({ component: 'agents' }), opts.heartbeatMs);
  const nodes = new NodesService(store, hub);
  const audit = new AuditLog(store, log.child({ component: 'audit' }));
  const workspaces = new WorkspacesService(store, hub, ops, nodes, audit);
  const sshNodes = new SshNodesService(store, hub, ops, nodes, log.child({ component: 'ssh-nodes' }));
  return { ops, opAccess: new OperationAccess(store, ops, audit), hub, nodes, workspaces, images: new ImagesService(hub, ops, nodes), users: new UsersService(store, workspaces), audit, sshNodes };
}
