/** The server's services, built once and handed to the HTTP layer. */
import type { Logger } from 'pino';
import type { PlacementStrategy } from '../../api/index.js';
// Teams and sharing.
import { LiveSessions } from '../access/live-sessions.js';
import { Revoker } from '../access/revoker.js';
import { FleetHeapPolicy } from '../agents/fleet-heap.js';
import { AgentHub } from '../agents/hub.js';
import { DEFAULT_NODE_GRACE_MS, DEFAULT_NODE_TTL_MS, LivenessMonitor } from '../agents/liveness.js';
import { AuditLog } from '../audit/audit.js';
import { OperationAccess } from '../operations/access.js';
import { Operations } from '../operations/operations.js';
import { SshNodesService } from '../ssh-nodes/service.js';
import type { Store } from '../store/open.js';
// Configuration as code and dotfiles.
import { ConfigService } from './config/config-service.js';
import { CreateRules } from './config/create-rules.js';
import { DotfilesService } from './dotfiles/dotfiles-service.js';
import { DrainService } from './drain.js';
import { ImagesService } from './images.js';
import { NodeCredentials } from './node-credentials.js';
import { NodesService } from './nodes.js';
import { DEFAULT_REAP_GRACE_MS, Reaper } from './reaper.js';
import { SharesService } from './shares.js';
import { WorkspaceServicesService } from './spec/workspace-services.js';
import { TeamsService } from './teams.js';
import { UsersService } from './users.js';
import { WorkspacesService } from './workspaces.js';

/** Everything the routes call. */
export interface Services {
  ops: Operations;
  /** Operations as the calling user may see and cancel them. */
  opAccess: OperationAccess;
  hub: AgentHub;
  nodes: NodesService;
  /** Node credentials after the join: authentication, rotation, revocation. */
  credentials: NodeCredentials;
  workspaces: WorkspacesService;
  images: ImagesService;
  users: UsersService;
  audit: AuditLog;
  /** Failure detection: node statuses, fencing of an offline node's workspaces. */
  liveness: LivenessMonitor;
  /** How far V8 lets the heap grow, by the size of the fleet (started and stopped with the server). */
  fleetHeap: FleetHeapPolicy;
  /** `node drain`. */
  drain: DrainService;
  /** fleet: adding and upgrading nodes over SSH. */
  sshNodes: SshNodesService;
  /** Removes workspaces on nodes that berth does not know, after a grace (crash safety). */
  reaper: Reaper;
  /** Workspace specs and services: detail with spec, svc ls/logs/start/stop/restart, ports with services. */
  services: WorkspaceServicesService;
  /** Configuration as code: pull and push. */
  config: ConfigService;
  /** Dotfiles per user. */
  dotfiles: DotfilesService;
  // Teams and sharing.
  teams: TeamsService;
  shares: SharesService;
  /** Live ways into workspaces (SSH, exec, terminals, port forwards, preview sockets), for revocation. */
  live: LiveSessions;
  /** Ends live sessions the permission function no longer allows (unshare, expiry, team, user removal). */
  revoker: Revoker;
}

/** Service settings from the server's flags and environment. */
export interface ServiceOptions {
  heartbeatMs: number;
  /** The CA fingerprint clients pin, when the server serves TLS (nodes added over SSH pin it). */
  caFingerprint?: string;
  /** Silence after which a node is offline (default 15 s), plus `nodeGraceMs` (default 5 s). */
  nodeTtlMs?: number;
  nodeGraceMs?: number;
  /** How the scheduler picks among fitting nodes (default spread). */
  placement?: PlacementStrategy;
  /** How long a workspace berth does not know must keep being reported before it is removed (default 60 s). */
  reapGraceMs?: number;
}

/** Wires the services together. */
export function createServices(store: Store, log: Logger, opts: ServiceOptions): Services {
  const ops = new Operations(store, log.child({ component: 'operations' }));
  const audit = new AuditLog(store, log.child({ component: 'audit' }));
  const timing = { heartbeatMs: opts.heartbeatMs, ttlMs: opts.nodeTtlMs ?? DEFAULT_NODE_TTL_MS, graceMs: opts.nodeGraceMs ?? DEFAULT_NODE_GRACE_MS };
  const liveness = new LivenessMonitor(store, audit, log.child({ component: 'liveness' }), timing);
  const hub = new AgentHub(store, ops, log.child({ component: 'agents' }), opts.heartbeatMs, liveness);
  const nodes = new NodesService(store, hub, liveness);
  const workspaces = new WorkspacesService(store, hub, ops, nodes, audit, opts.placement ?? 'spread');
  const credentials = new NodeCredentials(store, hub);
  const reaper = new Reaper(store, hub, audit, log.child({ component: 'reaper' }), opts.reapGraceMs ?? DEFAULT_REAP_GRACE_MS);
  reaper.attach(hub);
  // Configuration as code and dotfiles: templates, quotas and the placement setting at create, dotfiles after it.
  workspaces.rules = new CreateRules(store);
  const dotfiles = new DotfilesService(store, hub, workspaces);
  workspaces.afterCreate = (op, user, ws) => dotfiles.applyAtCreate(op, user, ws);
  // Teams and sharing: the revoker sweeps every second, so expiries bite within the 5 s promised.
  const live = new LiveSessions();
  const revoker = new Revoker(store, live, audit, log.child({ component: 'access' }));
  revoker.start();
  const sshNodes = new SshNodesService(store, hub, ops, nodes, log.child({ component: 'ssh-nodes' }), { caFingerprint: opts.caFingerprint });
  return {
    credentials,
    ops,
    opAccess: new OperationAccess(store, ops, audit),
    hub,
    nodes,
    workspaces,
    images: new ImagesService(hub, ops, nodes, store),
    users: new UsersService(store, workspaces),
    audit,
    liveness,
    fleetHeap: new FleetHeapPolicy(),
    drain: new DrainService(store, ops, nodes, workspaces),
    sshNodes,
    reaper,
    services: new WorkspaceServicesService(store, hub, workspaces, live),
    teams: new TeamsService(store, revoker),
    shares: new SharesService(store, workspaces, revoker),
    live,
    revoker,
    config: new ConfigService(store, revoker),
    dotfiles,
  };
}
