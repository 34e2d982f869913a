/**
 * A TCP connection to a port inside a container's network namespace, opened from the node.
 *
 * A container's own address reaches only services that listen on every interface, but dev
 * servers mostly listen on 127.0.0.1 (or ::1) inside the workspace. So the connection is made
 * from inside the workspace's network namespace: a tiny connector (Node, which every agent
 * host has, run under `nsenter --net`) joins only the namespace of the workspace's init
 * process — not its mount namespace, user or files — connects to loopback there, and pipes
 * its stdin and stdout to the socket. Nothing is needed inside the image, and the bytes go
 * through pipes on the node instead of an exec session of the engine.
 *
 * The connector prints one byte `S` once connected, so a refused port is an error here and not
 * a stream that closes at once; it exits 111 (ECONNREFUSED's customary status) when nothing
 * listens on the port, on IPv4 or IPv6 loopback.
 */
import { Duplex, PassThrough } from 'node:stream';
import { BerthError } from '../api/index.js';
import type { ExecSession, Transport } from '../transport/index.js';

const CONNECTED = 0x53; // 'S'
const REFUSED = 111;

/** The connector, run as `node -e CONNECTOR PORT`. It half-closes the socket at stdin's end and exits when the socket closes. */
const CONNECTOR = [
  "const net=require('net');const port=Number(process.argv[1]);",
  'function attempt(hosts){const host=hosts.shift();const s=net.connect({host,port});let up=false;',
  "s.on('connect',()=>{up=true;process.stdout.write('S');s.pipe(process.stdout,{end:false});process.stdin.pipe(s);});",
  `s.on('error',()=>{if(!up&&hosts.length)return attempt(hosts);process.exit(up?1:${REFUSED});});`,
  // A socket that never connected closes too: only a connection that was up ends the connector.
  "s.on('close',()=>{if(up)process.stdout.write('',()=>process.exit(0));});}",
  "attempt(['127.0.0.1','::1']);",
].join('');

/** Where a workspace's network namespace is: the host PID of a process inside it. */
export interface NetnsTarget {
  pid: number;
  /** For messages: the workspace's name or id. */
  workspace: string;
}

/** Opens a connection to `port` on loopback inside the namespace of `target.pid`, through `host` (the node). */
export async function connectInNetns(host: Transport, target: NetnsTarget, port: number, nodePath = process.execPath): Promise<Duplex> {
  if (!Number.isInteger(target.pid) || target.pid <= 1)
    throw new BerthError('FAILED_PRECONDITION', `Workspace ${target.workspace} is not running; start it and retry.`, { field: 'name' });
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new BerthError('INVALID_ARGUMENT', `Port ${port} is not a TCP port; use 1 to 65535.`, { field: 'port' });
  const session = await host.exec({ cmd: ['nsenter', `--net=/proc/${target.pid}/ns/net`, '--', nodePath, '-e', CONNECTOR, String(port)] });
  return await afterMarker(session, target, port);
}

/** Waits for the connector's `S`, then hands back a stream of the connection's bytes. */
function afterMarker(session: ExecSession, target: NetnsTarget, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const stderr: Buffer[] = [];
    session.stderr.on('data', (d: Buffer) => stderr.length < 16 && stderr.push(d));
    const onData = (chunk: Buffer) => {
      session.stdout.off('data', onData);
      session.stdout.pause();
      if (chunk[0] !== CONNECTED) {
        session.close();
        return reject(
          new BerthError('INTERNAL', `The connector for port ${port} in workspace ${target.workspace} said something unexpected; see the agent's log.`),
        );
      }
      const data = new PassThrough();
      if (chunk.length > 1) data.write(chunk.subarray(1));
      session.stdout.pipe(data);
      const stream = Duplex.from({ readable: data, writable: session.stdin });
      // Ending the connection early (the client went away) ends the connector too.
      stream.on('close', () => session.close());
      resolve(stream);
    };
    session.stdout.on('data', onData);
    void session.wait().then(
      (code) => {
        session.stdout.off('data', onData);
        const why = Buffer.concat(stderr).toString('utf8').trim().slice(0, 300);
        if (code === REFUSED)
          reject(
            new BerthError('FAILED_PRECONDITION', `Nothing listens on port ${port} in workspace ${target.workspace}; start the service and retry.`, {
              field: 'port',
            }),
          );
        else
          reject(
            new BerthError(
              'UNAVAILABLE',
              `Could not reach port ${port} in workspace ${target.workspace} (the connector exited ${code}${why ? `: ${why}` : ''}).`,
              { field: 'port' },
            ),
          );
      },
      (err: unknown) => reject(err),
    );
  });
}
