/**
 * `berth agent`: joins the server once (trading the join token for a credential kept in the
 * state dir), recovers what this node runs, then stays connected and serves the server's
 * requests until SIGTERM or SIGINT.
 */
import { readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { BerthError, nodeNameFromHost } from '../api/index.js';
import { createNodeBackends } from '../providers/registry.js';
import { Dialer } from './connection/dialer.js';
import { joinServer } from './connection/join.js';
import { AgentRuntime } from './runtime/runtime.js';
import { AgentState } from './state.js';

/** Options of `berth agent`. */
export interface AgentOptions {
  server: string;
  joinToken?: string;
  /** A file holding the join token (mode 0600, as `berth node add` writes it); removed once the node has joined. */
  joinTokenFile?: string;
  stateDir: string;
  name?: string;
  logLevel?: string;
  /** Used when the server runs the agent in-process. */
  logger?: Logger;
}

/** A running agent. */
export interface RunningAgent {
  readonly nodeId: string;
  stop(): Promise<void>;
}

/** True when the state dir already holds a node credential. */
export async function hasCredential(stateDir: string): Promise<boolean> {
  return (await new AgentState(stateDir).loadCredential()) !== null;
}

/** Joins if needed, recovers workspaces and connects. Resolves once recovery is done and dialling has begun. */
export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const log = opts.logger ?? pino({ level: opts.logLevel ?? process.env.BERTH_LOG_LEVEL ?? 'info', base: { component: 'agent' } });
  const state = new AgentState(opts.stateDir);
  await state.init();

  let saved = await state.loadCredential();
  const joinToken = opts.joinToken ?? (opts.joinTokenFile && !saved ? await readJoinTokenFile(opts.joinTokenFile) : undefined);
  if (saved && opts.joinToken) log.info('this node already joined; ignoring --join-token');
  if (!saved) {
    if (!joinToken) {
      throw new BerthError('FAILED_PRECONDITION', 'This node has not joined a server yet: pass --join-token (an admin mints one with `berth node join-token`), or point --state-dir at the state of an agent that joined.', { field: 'join-token' });
    }
    const joined = await joinServer(opts.server, joinToken, opts.name ?? nodeNameFromHost(hostname()));
    saved = { server: opts.server, ...joined };
    await state.saveCredential(saved);
    log.info({ node: joined.nodeName }, 'joined the server');
  }
  // A used (or, once joined, useless) token is not left lying around.
  if (opts.joinTokenFile) await rm(opts.joinTokenFile, { force: true });

  const backends = createNodeBackends({ nodeId: saved.nodeId, dockerSocket: process.env.BERTH_DOCKER_SOCKET || undefined, stateDir: opts.stateDir });
  let dialer: Dialer | null = null;
  const runtime = new AgentRuntime(state, backends, log, {
    emit: (name, payload) => dialer?.emit(name, payload),
    sendBinary: (frame) => dialer?.sendBinary(frame),
    bufferedAmount: () => dialer?.bufferedAmount() ?? 0,
    reportNow: async () => dialer?.reportNow(),
  });
  await runtime.recover();
  dialer = new Dialer({
    server: opts.server,
    credential: saved.credential,
    log,
    report: () => runtime.report(),
    onRequest: (method, params) => runtime.handle(method, params),
    onEvent: (name, payload) => runtime.onEvent(name, payload),
    onBinary: (frame) => runtime.onBinary(frame),
  });
  void dialer.start();
  return {
    nodeId: saved.nodeId,
    stop: async () => {
      runtime.closeAll();
      dialer?.stop();
    },
  };
}

/** The token in a join token file, trimmed; FAILED_PRECONDITION naming the file when it cannot be read. */
async function readJoinTokenFile(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new BerthError('FAILED_PRECONDITION', `Cannot read the join token file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); mint a new token with \`berth node join-token\` or run \`berth node add\` again.`, {
      field: 'join-token-file',
      cause: err,
    });
  }
}

/** Runs the agent until a termination signal. */
export async function runAgent(opts: AgentOptions): Promise<void> {
  const agent = await startAgent(opts);
  await new Promise<void>((resolve) => {
    const done = () => {
      process.off('SIGTERM', done);
      process.off('SIGINT', done);
      resolve();
    };
    process.on('SIGTERM', done);
    process.on('SIGINT', done);
  });
  await agent.stop();
}
