/**
 * `berth port-forward NAME [LOCAL:]REMOTE...`: listens on 127.0.0.1:LOCAL here and carries each
 * connection to REMOTE on the workspace's own loopback, opened by its node (no SSH setup, no
 * process in the workspace). Runs until interrupted.
 */
import { createServer, type Server } from 'node:net';
import type { Command } from 'commander';
import { BerthError, toApiError } from '../../api/index.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** One `[LOCAL:]REMOTE` pair. */
export interface PortPair {
  local: number;
  remote: number;
}

/** Parses `8080`, `9000:8080` or `0:8080` (0: any free local port). */
export function parsePortPair(text: string): PortPair {
  const m = /^(?:(\d{1,5}):)?(\d{1,5})$/.exec(text);
  const remote = m ? Number(m[2]) : NaN;
  const local = m?.[1] !== undefined ? Number(m[1]) : remote;
  if (!m || remote < 1 || remote > 65535 || local > 65535) {
    throw new BerthError(
      'INVALID_ARGUMENT',
      `"${text.slice(0, 32)}" is not a port to forward; use REMOTE or LOCAL:REMOTE with ports from 1 to 65535 (LOCAL 0 picks a free one).`,
      { field: 'ports' },
    );
  }
  return { local, remote };
}

/** Registers `berth port-forward`. */
export function registerPortForward(program: Command, ctx: CliContext): void {
  withJson(
    program
      .command('port-forward')
      .description("forward local ports to ports on a workspace's loopback, until interrupted")
      .argument('<name>', "workspace: NAME (yours) or OWNER/NAME (another's)")
      .argument('<ports...>', 'REMOTE or LOCAL:REMOTE (LOCAL 0 picks a free port)'),
  ).action(async (name: string, specs: string[]) => {
    const pairs = specs.map(parsePortPair);
    const client = await ctx.client();
    // The workspace is checked first, so a typo fails at once instead of at the first connection.
    await client.call('workspaceGet', { params: { name } });
    const servers: Server[] = [];
    const listening: Array<{ local: number; remote: number }> = [];
    try {
      for (const pair of pairs) {
        const server = createServer((local) => {
          local.pause();
          client.connectPort(name, pair.remote).then(
            (remote) => {
              local.pipe(remote).pipe(local);
              local.resume();
              const fail = (err: unknown) => {
                ctx.io.stderr.write(`berth: ${name}:${pair.remote}: ${toApiError(err).message}\n`);
                local.destroy();
                remote.destroy();
              };
              remote.on('error', fail);
              local.on('error', () => remote.destroy());
            },
            (err: unknown) => {
              ctx.io.stderr.write(`berth: ${name}:${pair.remote}: ${toApiError(err).message}\n`);
              local.destroy();
            },
          );
        });
        await new Promise<void>((resolve, reject) => {
          server.once('error', (err: NodeJS.ErrnoException) =>
            reject(
              new BerthError(
                'FAILED_PRECONDITION',
                `Cannot listen on 127.0.0.1:${pair.local} (${err.code ?? err.message}); pick another local port, or 0 for any.`,
                { field: 'ports' },
              ),
            ),
          );
          server.listen(pair.local, '127.0.0.1', () => resolve());
        });
        servers.push(server);
        const local = (server.address() as { port: number }).port;
        listening.push({ local, remote: pair.remote });
        if (!ctx.json) ctx.io.stdout.write(`Forwarding 127.0.0.1:${local} -> ${name}:${pair.remote}\n`);
      }
      if (ctx.json) writeJson(ctx.io.stdout, { workspace: name, forwards: listening });
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    } finally {
      for (const s of servers) s.close();
    }
  });
}
