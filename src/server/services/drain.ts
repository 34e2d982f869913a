/**
 * `node drain`: cordon the node, then stop each workspace running there, as an operation whose
 * progress streams like a create's. (Once workspaces can move between nodes, this is where
 * they will be moved instead of stopped.) Past the deadline, the operation fails naming what
 * still runs, unless `force`, which stops those forcibly. The node stays cordoned either way.
 */
import { BerthError, type NodeDrainPost, nodeDrainPostSchema, type Operation, toApiError, type User } from '../../api/index.js';
import type { Operations, OpReporter } from '../operations/operations.js';
import type { Store } from '../store/open.js';
import type { NodesService } from './nodes.js';
import type { WorkspacesService } from './workspaces.js';

/** Stops run this many at a time: enough to drain quickly, few enough not to swamp the node. */
const PARALLEL_STOPS = 4;
/** The graceful stop each workspace gets (SIGTERM, then kill), when the deadline leaves that much. */
const STOP_TIMEOUT_S = 10;
/** States that count as still running on the node. */
const RUNNING = ['running', 'starting', 'restarting'];

/** Drains nodes. */
export class DrainService {
  constructor(
    private readonly store: Store,
    private readonly ops: Operations,
    private readonly nodes: NodesService,
    private readonly workspaces: WorkspacesService,
    private readonly now: () => number = Date.now,
  ) {}

  /** Cordons `name` and starts the operation that stops its workspaces. */
  async drain(user: User, name: string, input: NodeDrainPost): Promise<Operation> {
    const opts = nodeDrainPostSchema.parse(input);
    const node = await this.nodes.setCordoned(name, true);
    const deadlineAt = this.now() + opts.deadlineSeconds * 1000;
    return this.ops.start({ kind: 'node.drain', target: `node/${name}`, createdBy: user.id }, async (op) => {
      op.log(`node ${name} is cordoned: nothing new is placed there`);
      const names = await this.runningOn(node.id);
      if (names.length === 0) {
        op.log('no workspace runs there');
        return;
      }
      op.progress(`stopping ${names.length} workspace(s)`, 0);
      let stopped = 0;
      const queue = [...names];
      const worker = async () => {
        for (let ws = queue.shift(); ws !== undefined && this.now() < deadlineAt; ws = queue.shift()) {
          const timeoutSeconds = Math.max(0, Math.min(STOP_TIMEOUT_S, Math.floor((deadlineAt - this.now()) / 1000)));
          if (await this.stop(user, op, ws, { timeoutSeconds })) op.progress(`stopped ${++stopped} of ${names.length}`, stopped / names.length);
        }
      };
      await Promise.all(Array.from({ length: Math.min(PARALLEL_STOPS, names.length) }, worker));
      const still = (await this.runningOn(node.id)).filter((n) => names.includes(n));
      if (still.length === 0) return;
      if (!opts.force) {
        throw new BerthError(
          'FAILED_PRECONDITION',
          `The drain deadline passed with workspaces still running on node ${name}: ${still.join(', ')}. The node stays cordoned; run \`berth node drain ${name} --force\` to stop them forcibly.`,
          { field: 'deadline' },
        );
      }
      op.log(`deadline passed: stopping ${still.join(', ')} forcibly`);
      for (const ws of still)
        if (await this.stop(user, op, ws, { force: true, timeoutSeconds: 0 })) op.progress(`stopped ${++stopped} of ${names.length}`, stopped / names.length);
      const left = (await this.runningOn(node.id)).filter((n) => names.includes(n));
      if (left.length > 0)
        throw new BerthError('FAILED_PRECONDITION', `Could not stop ${left.join(', ')} on node ${name}; see \`berth ws show\` for each and retry.`, {
          field: 'name',
        });
    });
  }

  /** Stops one workspace through the usual lifecycle; true when it stopped. Failures are logged to the operation. */
  private async stop(user: User, op: OpReporter, ws: string, opts: { force?: boolean; timeoutSeconds: number }): Promise<boolean> {
    try {
      const started = await this.workspaces.transition(user, ws, 'stop', opts);
      const done = await this.ops.finished(started.id);
      if (done.error) throw BerthError.fromApi(done.error);
      op.log(`stopped ${ws}${opts.force ? ' (forcibly)' : ''}`);
      return true;
    } catch (err) {
      const e = toApiError(err);
      op.log(`could not stop ${ws}: ${e.code}: ${e.message}`);
      return false;
    }
  }

  private async runningOn(nodeId: string): Promise<string[]> {
    // OWNER/NAME: names are unique per owner, and the drain's admin reaches everyone's that way.
    const rows = await this.store.db
      .selectFrom('workspaces')
      .innerJoin('users', 'users.id', 'workspaces.owner_id')
      .select(['workspaces.name', 'users.name as owner'])
      .where('workspaces.node_id', '=', nodeId)
      .where('workspaces.status', 'in', RUNNING)
      .orderBy('workspaces.name')
      .orderBy('users.name')
      .execute();
    return rows.map((r) => `${r.owner}/${r.name}`);
  }
}
