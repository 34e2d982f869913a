/** `berth ports NAME`: what listens inside a workspace, found by its node whether or not anyone is connected. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';
import { renderTable } from '../output/table.js';

/** Registers `berth ports`. */
export function registerPorts(program: Command, ctx: CliContext): void {
  withJson(
    program
      .command('ports')
      .description('list the ports listening inside a workspace, and the processes that own them')
      .argument('<name>', "workspace: NAME (yours) or OWNER/NAME (another's)"),
  ).action(async (name: string) => {
    const client = await ctx.client();
    const r = await client.call('workspacePortsGet', { params: { name } });
    if (ctx.json) return writeJson(ctx.io.stdout, r);
    if (r.observedAt === null) {
      ctx.io.stdout.write(`No report from ${name}'s node yet (it is offline or just connected); try again in a moment.\n`);
      return;
    }
    if (r.ports.length === 0) {
      ctx.io.stdout.write(`Nothing listens in ${name}.\n`);
      return;
    }
    // Workspace services: the owning service and the spec's label.
    const rows = r.ports.map((p) => [
      String(p.port),
      p.protocol,
      p.addresses.join(', '),
      p.process ? `${p.process.name} (${p.process.pid})` : '-',
      p.service ?? '-',
      p.label ?? '',
    ]);
    ctx.io.stdout.write(renderTable(['PORT', 'PROTO', 'LISTENING ON', 'PROCESS', 'SERVICE', 'LABEL'], rows));
    const tcp = r.ports.find((p) => p.protocol === 'tcp');
    if (tcp) ctx.io.stdout.write(`\nReach one from here: ssh -L ${tcp.port}:localhost:${tcp.port} ${name}.berth (after \`berth config-ssh\`)\n`);
  });
}
