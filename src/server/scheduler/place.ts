/**
 * Placement: which node gets a new workspace. A pure function of what the server knows about
 * each node and what the request asks for, so it can be tested exhaustively (place.test.ts,
 * with fast-check) and cannot race anything.
 *
 * A node fits when, in this order: it is online; it is not cordoned; it has the provider and
 * the provider is usable; it carries every label the constraints ask for (`k=v`: the label is
 * present with that value; `k!=v`: absent or another value, as Kubernetes' NotIn); it has the
 * CPU and memory asked for free after what its workspaces reserve; and the image resolves
 * there. Whether a node "can build" an image it lacks is not knowable: berth builds base
 * images only when an admin runs `berth image build`, never on demand, so a node that cannot
 * resolve the image (the agent's `image.resolve` answer) does not fit, and the error says to
 * build it there.
 *
 * Reservations: a workspace reserves the CPUs and memory it was created with, whatever its
 * state (a stopped workspace can be started again at any time, and a start must not fail for
 * room); a workspace without `--cpus`/`--memory` reserves nothing, as it runs without a limit
 * and shares what is free. Free = the node's total minus the reservations.
 */
import { BerthError, type Constraint, type ErrorCode, type PlacementStrategy, type ProviderInfo, type ProviderKind } from '../../api/index.js';

/** What the scheduler knows about one node. */
export interface PlacementNode {
  id: string;
  name: string;
  online: boolean;
  cordoned: boolean;
  labels: Record<string, string>;
  providers: ProviderInfo[];
  /** Totals the agent reported; null before its first report. */
  resources: { cpus: number; memoryBytes: number } | null;
  /** What its workspaces reserve. */
  reserved: { cpus: number; memoryBytes: number };
  /** How many workspaces it holds (a tie-breaker). */
  workspaces: number;
  /**
   * Whether the requested image resolves there: `ok`, the agent's refusal, or `unchecked`
   * (not asked, because the node failed an earlier test).
   */
  image: { ok: true } | { ok: false; code: ErrorCode; message: string } | 'unchecked';
}

/** What the workspace asks for. */
export interface PlacementRequest {
  provider: ProviderKind;
  image: string;
  cpus: number | null;
  memoryBytes: number | null;
  constraints: Constraint[];
  /** An explicit `--node`: it must fit; the strategy does not apply. */
  node?: string;
  strategy: PlacementStrategy;
}

/** Why one node does not fit: the check that failed (in check order) and the sentence. */
export interface Unfit {
  stage: number;
  code: ErrorCode;
  reason: string;
}

const GiB = 1024 ** 3;
const fmtMem = (b: number) => `${(b / GiB).toFixed(b % GiB === 0 ? 0 : 2)} GiB`;

/** Everything up to but not including the image: the service asks `image.resolve` only of nodes that pass this. */
export function unfitBeforeImage(node: PlacementNode, req: PlacementRequest): Unfit | null {
  if (!node.online) return { stage: 0, code: 'NODE_OFFLINE', reason: 'offline (its agent is not connected); start its agent' };
  if (node.cordoned) return { stage: 1, code: 'FAILED_PRECONDITION', reason: 'cordoned; `berth node uncordon` it to place workspaces there' };
  const info = node.providers.find((p) => p.kind === req.provider);
  if (!info) return { stage: 2, code: 'PROVIDER_UNAVAILABLE', reason: `has no ${req.provider} provider` };
  if (!info.usable)
    return { stage: 2, code: 'PROVIDER_UNAVAILABLE', reason: `its ${req.provider} provider is not usable: ${info.reason ?? 'no reason given'}` };
  const broken = req.constraints.filter((c) => (c.op === '=' ? node.labels[c.key] !== c.value : node.labels[c.key] === c.value));
  if (broken.length > 0) {
    const what = broken
      .map((c) => `${c.key}${c.op}${c.value} (${Object.hasOwn(node.labels, c.key) ? `it has ${c.key}=${node.labels[c.key]}` : `no ${c.key} label`})`)
      .join(', ');
    return { stage: 3, code: 'FAILED_PRECONDITION', reason: `does not satisfy ${what}` };
  }
  if ((req.cpus !== null || req.memoryBytes !== null) && !node.resources)
    return { stage: 4, code: 'FAILED_PRECONDITION', reason: 'has not reported its CPUs and memory yet' };
  if (node.resources) {
    const freeCpus = node.resources.cpus - node.reserved.cpus;
    const freeMem = node.resources.memoryBytes - node.reserved.memoryBytes;
    const short: string[] = [];
    if (req.cpus !== null && req.cpus > freeCpus + 1e-9) short.push(`${req.cpus} CPUs asked, ${Math.max(0, freeCpus)} of ${node.resources.cpus} free`);
    if (req.memoryBytes !== null && req.memoryBytes > freeMem)
      short.push(`${fmtMem(req.memoryBytes)} memory asked, ${fmtMem(Math.max(0, freeMem))} of ${fmtMem(node.resources.memoryBytes)} free`);
    if (short.length > 0) return { stage: 4, code: 'FAILED_PRECONDITION', reason: `has too little room: ${short.join('; ')}` };
  }
  return null;
}

/** Why `node` does not fit `req`, or null when it does. */
export function unfit(node: PlacementNode, req: PlacementRequest): Unfit | null {
  const early = unfitBeforeImage(node, req);
  if (early) return early;
  if (node.image === 'unchecked') return { stage: 5, code: 'NOT_FOUND', reason: `was not asked whether it has image ${req.image}` };
  if (!node.image.ok) return { stage: 5, code: node.image.code, reason: node.image.message };
  return null;
}

/** The share of its dominant resource a node has reserved, 0..1 (0 when it reported nothing). */
export function load(node: PlacementNode): number {
  if (!node.resources) return 0;
  const cpu = node.resources.cpus > 0 ? node.reserved.cpus / node.resources.cpus : 0;
  const mem = node.resources.memoryBytes > 0 ? node.reserved.memoryBytes / node.resources.memoryBytes : 0;
  return Math.max(cpu, mem);
}

const freeMemory = (n: PlacementNode) => (n.resources ? n.resources.memoryBytes - n.reserved.memoryBytes : 0);

/**
 * Orders fitting nodes best first. `spread`: least reserved (dominant share), then fewest
 * workspaces, then most free memory. `binpack`: most reserved first, then most workspaces,
 * then least free memory. Ties go by name, so the choice is deterministic.
 */
export function compareNodes(strategy: PlacementStrategy): (a: PlacementNode, b: PlacementNode) => number {
  const sign = strategy === 'spread' ? 1 : -1;
  return (a, b) =>
    sign * (load(a) - load(b)) ||
    sign * (a.workspaces - b.workspaces) ||
    sign * (freeMemory(b) - freeMemory(a)) ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * Picks the node for a workspace, or throws a BerthError whose message names every node and
 * why it does not fit. Its code is the failing check of the node that came closest (an
 * explicit `--node`: that node's), so a missing image is still NOT_FOUND and a broken engine
 * PROVIDER_UNAVAILABLE; room, constraints and cordons across several nodes are
 * NO_NODE_AVAILABLE.
 */
export function place(nodes: PlacementNode[], req: PlacementRequest): PlacementNode {
  if (req.node !== undefined) {
    const node = nodes.find((n) => n.name === req.node);
    if (!node) throw new BerthError('NOT_FOUND', `No node named ${req.node}; see \`berth node ls\`.`, { field: 'node' });
    const why = unfit(node, req);
    if (why) throw new BerthError(why.code, `Node ${node.name} cannot take this workspace: it ${why.reason}.`, { field: why.stage === 5 ? 'image' : 'node' });
    return node;
  }
  if (nodes.length === 0) {
    throw new BerthError(
      'NO_NODE_AVAILABLE',
      'No node has joined this server yet; start one with `berth server --local-agent` or `berth agent --join-token`.',
      { field: 'node' },
    );
  }
  const verdicts = nodes.map((n) => ({ node: n, why: unfit(n, req) }));
  const fit = verdicts.filter((v) => v.why === null).map((v) => v.node);
  if (fit.length > 0) return [...fit].sort(compareNodes(req.strategy))[0];
  const reasons = verdicts.map((v) => `${v.node.name}: ${v.why!.reason}.`).join(' ');
  const closest = verdicts.reduce((best, v) => (v.why!.stage > best.why!.stage ? v : best));
  const c = closest.why!;
  // Offline, cordoned, mismatched or full everywhere: no node is available. A provider or image
  // problem keeps its own code, so scripts can tell "build the image" from "add a node".
  const code: ErrorCode = c.stage === 2 || c.stage === 5 ? c.code : 'NO_NODE_AVAILABLE';
  const field = c.stage === 2 ? 'provider' : c.stage === 5 ? 'image' : 'node';
  throw new BerthError(code, `No node can take this ${req.provider} workspace now. ${reasons}`, { field });
}
