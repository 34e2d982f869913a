/**
 * Workspace specs and services on the server: the workspace detail with its spec, `svc ls`
 * (the spec merged with the supervisor's last state), `svc start|stop|restart` and `svc logs`
 * (berth-in run in the workspace through the node's exec). Every call goes through
 * WorkspacesService.get, so who may see or steer them is the one permission function's call,
 * and a workspace one may not see answers NOT_FOUND.
 */
// Teams and sharing.

import {
  BERTH_IN_PATH,
  BerthError,
  type ProjectSpec,
  type ServiceActionResult,
  type ServiceLogsFrame,
  type ServiceLogsQuery,
  serviceLogsArgv,
  serviceNameParamSchema,
  toApiError,
  type User,
  type Workspace,
  type WorkspaceDetail,
  type WorkspacePorts,
  type WorkspaceServices,
} from '../../../api/index.js';
import { joinWorkspace } from '../../access/join.js';
import type { LiveSessions } from '../../access/live-sessions.js';
import type { AgentHub } from '../../agents/hub.js';
import type { Store } from '../../store/open.js';
import type { WorkspacesService } from '../workspaces.js';
import { berthInFailure, runInWorkspace } from './node-command.js';
import { portOwner, servicesView } from './services-view.js';
import { storedSpec } from './stored-spec.js';

type Via = { sourceIp?: string };

/** The service routes' logic. */
export class WorkspaceServicesService {
  constructor(
    private readonly store: Store,
    private readonly hub: AgentHub,
    private readonly workspaces: WorkspacesService,
    /** Teams and sharing: a followed log is a live session, ended when access is revoked. */
    private readonly live?: LiveSessions,
  ) {}

  /** GET /workspaces/:name: the workspace with its stored spec. */
  async detail(user: User, name: string, via: Via = {}): Promise<WorkspaceDetail> {
    const ws = await this.workspaces.get(user, name, via);
    return { ...ws, spec: await storedSpec(this.store, ws.id) };
  }

  /** GET /workspaces/:name/services. */
  async list(user: User, name: string, via: Via = {}): Promise<WorkspaceServices> {
    const ws = await this.workspaces.get(user, name, via);
    const spec = await storedSpec(this.store, ws.id);
    const seen = this.hub.services.get(ws.id, ws.nodeId);
    return { workspace: ws.ref, observedAt: seen?.at ?? null, services: servicesView(spec, seen?.value ?? null) };
  }

  /** `berth ports`: each port with the service that owns it and its label from the spec. */
  async ports(user: User, name: string, via: Via = {}): Promise<WorkspacePorts> {
    const view = await this.workspaces.ports(user, name, via);
    const ws = await this.workspaces.get(user, name, via);
    const spec = await storedSpec(this.store, ws.id);
    const state = this.hub.services.get(ws.id, ws.nodeId)?.value ?? null;
    return { ...view, ports: view.ports.map((p) => ({ ...p, ...portOwner(p, spec, state) })) };
  }

  /** POST /workspaces/:name/services/:service/start|stop|restart: done when berth-in says so. */
  async action(user: User, name: string, service: string, action: ServiceActionResult['action'], via: Via = {}): Promise<ServiceActionResult> {
    const { ws, svc } = await this.target(user, name, service, via);
    const r = await runInWorkspace(this.hub, ws, [BERTH_IN_PATH, 'ctl', action, svc], 60_000);
    if (r.code !== 0) throw berthInFailure(r, ws.name, svc);
    return { workspace: ws.ref, service: svc, action };
  }

  /** The service logs stream: berth-in's output as data frames, then end (or error). */
  async logs(
    user: User,
    name: string,
    service: string,
    query: ServiceLogsQuery,
    write: (f: ServiceLogsFrame) => void,
    closed: Promise<void>,
    via: Via = {},
  ): Promise<void> {
    const { ws, svc } = await this.target(user, name, service, via);
    let stderr = '';
    await new Promise<void>((resolve) => {
      let close: (() => void) | null = null;
      let done = false;
      let leave = () => {};
      const finish = (f: ServiceLogsFrame | null) => {
        if (done) return;
        done = true;
        leave();
        if (f) write(f);
        resolve();
      };
      void closed.then(() => {
        close?.();
        finish(null);
      });
      this.hub
        .openExec(
          ws.nodeId,
          ws.id,
          { cmd: serviceLogsArgv(BERTH_IN_PATH, svc, query), tty: false, env: {} },
          {
            output: (stream, data) => {
              if (stream === 'stdout') write({ type: 'data', data: data.toString('utf8') });
              else if (stderr.length < 16_384) stderr += data.toString('utf8');
            },
            exit: (code, error) => {
              if (error) return finish({ type: 'error', error });
              if (code !== 0) return finish({ type: 'error', error: berthInFailure({ code, stdout: '', stderr }, ws.name, svc).toJSON() });
              finish({ type: 'end' });
            },
          },
        )
        .then(
          (channel) => {
            close = () => channel.close();
            if (!done) {
              leave = joinWorkspace({ live: this.live }, { workspace: ws, user, kind: 'service-logs' }, (message) => {
                channel.close();
                finish({ type: 'error', error: { code: 'PERMISSION_DENIED', message } });
              });
            }
            if (done) channel.close();
            else channel.eof();
          },
          (err: unknown) => finish({ type: 'error', error: toApiError(err) }),
        );
    });
  }

  /** A running workspace of the caller's and a service its stored spec declares (the name is checked before it reaches a command line). */
  private async target(user: User, name: string, service: string, via: Via): Promise<{ ws: Workspace; svc: string; spec: ProjectSpec }> {
    const checked = serviceNameParamSchema.safeParse(service);
    const ws = await this.workspaces.forExec(user, name, via);
    const spec = await storedSpec(this.store, ws.id);
    if (!spec?.services || Object.keys(spec.services).length === 0) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `Workspace ${ws.name} was not created from a spec with services; create one with \`berth ws create NAME --spec berth.yaml\`.`,
        { field: 'name' },
      );
    }
    if (!checked.success || !Object.hasOwn(spec.services, checked.data)) {
      throw new BerthError(
        'NOT_FOUND',
        `Workspace ${ws.name} has no service "${JSON.stringify(String(service).slice(0, 64)).slice(1, -1)}"; its services are ${Object.keys(spec.services).join(', ')}.`,
        { field: 'service' },
      );
    }
    return { ws, svc: checked.data, spec };
  }
}
