// Simulated berth agents for bench/fleet-scale.mjs: a child process (started with an IPC
// channel) that joins nodes with real join tokens and keeps one real agent WebSocket per node
// (TLS verified against the server's CA), with hello, heartbeats at the interval the server's
// welcome names, and minimal answers to the server's requests. It is deliberately light (plain
// JSON frames, no zod) so that its CPU is not what limits the benchmark; its own cost is
// measured apart from the server's (see fleet-scale.mjs).
//
// Node k (0-based, across every agents process) reports workspaces `bw-<i>` for every i < M
// with i % N === k: the same rule fleet-scale.mjs seeds the database with.
import { Agent, request } from 'node:https';
import { createSecureContext } from 'node:tls';
import WebSocket from 'ws';

const cfg = JSON.parse(process.env.FLEET_AGENTS_CONFIG);
const { url, ca, adminToken, from, to, total, workspaces: M, prefix, protocolVersion } = cfg;
const wsUrl = url.replace(/^https:/, 'wss:') + '/api/v1/agent/connect';
const resources = { cpus: 8, memoryBytes: 32 * 2 ** 30, memoryFreeBytes: 16 * 2 ** 30, diskBytes: 500 * 2 ** 30, diskFreeBytes: 250 * 2 ** 30 };
const providers = [{ kind: 'docker', usable: true, version: '27.0.0', details: {} }];
// One TLS context for every simulated node: a real agent builds its own on its own machine,
// but 5,000 of them here on one core would make the clients, not the server, the storm's limit.
const secureContext = createSecureContext({ ca });

/** One simulated node. */
class SimNode {
  constructor(k) {
    this.k = k;
    this.name = `${prefix}${k}`;
    this.credential = null;
    this.ws = new Map(); // workspace id -> status
    for (let i = k; i < M; i += total) this.ws.set(`bw-${i}`, 'running');
    this.socket = null;
    // As the real agent (src/agent/connection/tls-resume.ts): redials resume the last TLS session.
    this.tlsAgent = new Agent({ keepAlive: false, maxCachedSessions: 1, ca, secureContext });
    this.timer = null;
    this.welcomed = false;
    this.attempt = 0;
    this.stopped = false;
  }

  report(type) {
    // Free memory drifts like a real node's, so the resources part is not byte-identical each time.
    const r = { ...resources, memoryFreeBytes: resources.memoryFreeBytes - Math.floor(Math.random() * 1000) * 4096 };
    const workspaces = [...this.ws].map(([workspaceId, status]) => ({ workspaceId, status }));
    const frame =
      type === 'hello'
        ? { type, protocolVersion, agentVersion: 'bench', resources: r, providers, workspaces }
        : { type, agentVersion: 'bench', resources: r, providers, workspaces };
    return JSON.stringify(frame);
  }

  send(text) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(text);
  }

  dial(onWelcome) {
    if (this.stopped) return;
    const socket = new WebSocket(wsUrl, {
      headers: { authorization: `Bearer ${this.credential}` },
      ca,
      secureContext,
      agent: process.env.BENCH_TLS_RESUME === '0' ? undefined : this.tlsAgent,
      handshakeTimeout: 10_000,
      perMessageDeflate: false,
      // As the real agent (src/agent/connection/dialer.ts): an all-zero mask, which both ends skip.
      generateMask: (mask) => void mask.fill(0),
    });
    this.socket = socket;
    socket.on('open', () => socket.send(this.report('hello')));
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      const f = JSON.parse(data.toString());
      if (f.type === 'welcome') {
        this.attempt = 0;
        this.welcomed = true;
        clearInterval(this.timer);
        // A random phase, as a fleet's agents started at different moments would have.
        const first = setTimeout(() => {
          this.send(this.report('heartbeat'));
          this.timer = setInterval(() => this.send(this.report('heartbeat')), f.heartbeatMs);
        }, Math.random() * f.heartbeatMs);
        this.timer = first;
        onWelcome?.(this);
        onWelcome = null;
      } else if (f.type === 'request') this.answer(f);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(this.timer);
      clearTimeout(this.timer);
      this.welcomed = false;
      if (this.stopped || this.socket !== socket) return;
      // The real agent's backoff: 500 ms doubling to 15 s, with ±25% jitter.
      const delay = Math.min(15_000, 500 * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
      this.attempt++;
      setTimeout(() => this.dial(onWelcome), delay);
    });
  }

  answer(f) {
    const p = f.params ?? {};
    let result = {};
    switch (f.method) {
      case 'workspace.create':
        this.ws.set(p.spec.id, 'running');
        result = { status: 'running' };
        break;
      case 'workspace.start':
      case 'workspace.restart':
        this.ws.set(p.workspaceId, 'running');
        result = { status: 'running' };
        break;
      case 'workspace.stop':
        this.ws.set(p.workspaceId, 'stopped');
        result = { status: 'stopped' };
        break;
      case 'workspace.delete':
        this.ws.delete(p.workspaceId);
        break;
      case 'workspace.inspect':
        result = { status: this.ws.get(p.workspaceId) ?? 'unknown' };
        break;
      case 'image.resolve':
        result = { ref: 'bench:latest' };
        break;
      case 'image.list':
        result = { images: [] };
        break;
      case 'op.cancel':
        result = { cancelled: false };
        break;
      default:
        return this.send(JSON.stringify({ type: 'response', id: f.id, error: { code: 'UNSUPPORTED', message: `bench agent does not do ${f.method}` } }));
    }
    this.send(JSON.stringify({ type: 'response', id: f.id, result }));
  }
}

const nodes = [];
for (let k = from; k < to; k++) nodes.push(new SimNode(k));

const httpsAgent = new Agent({ ca, keepAlive: true });
/** One JSON call to the API over the pinned TLS. */
function api(method, path, body, token) {
  return new Promise((resolve, reject) => {
    const data = body ? JSON.stringify(body) : undefined;
    const req = request(
      url + '/api/v1' + path,
      { method, agent: httpsAgent, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const json = JSON.parse(Buffer.concat(chunks).toString());
          if (res.statusCode >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${JSON.stringify(json)}`));
          else resolve(json);
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** Runs `fn` over `items` with at most `n` in flight. */
async function pool(items, n, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

async function join() {
  // As a fleet grows: each node joins (a real join token, POST /nodes/join) and then connects,
  // while every node that joined before it is connected and heartbeating.
  const t0 = Date.now();
  const times = [];
  await pool(nodes, cfg.joinConcurrency ?? 1, async (n) => {
    const { token } = await api('POST', '/nodes/join-tokens', { ttlSeconds: 3600 }, adminToken);
    const t = performance.now();
    const cred = await api('POST', '/nodes/join', { token, name: n.name });
    times.push(performance.now() - t);
    n.credential = cred.credential;
    n.nodeId = cred.nodeId;
    await new Promise((welcomed) => n.dial(welcomed));
  });
  process.send({ cmd: 'joined', ms: Date.now() - t0, joinMs: times, nodes: nodes.map((n) => ({ k: n.k, name: n.name, id: n.nodeId })) });
}

function storm() {
  // Every socket dropped at once (as a server-side network blip would); each node redials
  // with the real agent's backoff. Done when every node has been welcomed again.
  const t0 = Date.now();
  let left = nodes.length;
  for (const n of nodes) {
    n.welcomed = false;
    const old = n.socket;
    n.socket = null;
    clearInterval(n.timer);
    clearTimeout(n.timer);
    old?.removeAllListeners('close');
    old?.on('close', () => {});
    old?.terminate();
    setTimeout(
      () =>
        n.dial(() => {
          if (--left === 0) process.send({ cmd: 'storm-done', ms: Date.now() - t0 });
        }),
      500 * (0.75 + Math.random() * 0.5),
    );
  }
}

process.on('message', (m) => {
  if (m.cmd === 'join') join().catch((err) => process.send({ cmd: 'error', message: String(err?.stack ?? err) }));
  else if (m.cmd === 'connect') connect();
  else if (m.cmd === 'flip') {
    // A changed report: one workspace's status flips, and the heartbeat goes out at once.
    const n = nodes.find((x) => x.k === m.k);
    n.ws.set(m.workspaceId, m.status);
    const at = Date.now();
    n.send(n.report('heartbeat'));
    process.send({ cmd: 'flipped', id: m.id, at });
  } else if (m.cmd === 'storm') storm();
  else if (m.cmd === 'stop') {
    for (const n of nodes) {
      n.stopped = true;
      clearInterval(n.timer);
      clearTimeout(n.timer);
      n.socket?.terminate();
    }
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ cmd: 'ready' });
