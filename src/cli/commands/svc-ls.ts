/** `berth svc ls NAME`: a workspace's services in start order, with state, pid, restarts, health and ports. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';
import { renderTable } from '../output/table.js';
import { portText } from '../workspace-spec/spec-fields.js';

/** Registers `berth svc ls`. */
export function registerSvcLs(svc: Command, ctx: CliContext): void {
  withJson(
    svc
      .command('ls')
      .alias('list')
      .description("list a workspace's services: state, pid, restarts, health, ports")
      .argument('<name>', "workspace: NAME (yours) or OWNER/NAME (another's)"),
  ).action(async (name: string) => {
    const client = await ctx.client();
    const r = await client.call('workspaceServicesGet', { params: { name } });
    if (ctx.json) return writeJson(ctx.io.stdout, r);
    if (r.services.length === 0) {
      ctx.io.stdout.write(
        `Workspace ${r.workspace} has no services; declare them under services: in a berth.yaml and create it with \`berth ws create NAME --spec berth.yaml\`.\n`,
      );
      return;
    }
    const rows = r.services.map((s) => [
      s.name,
      s.state ?? '?',
      s.pid === null ? '-' : String(s.pid),
      String(s.restarts),
      s.health ?? '-',
      s.ports.map(portText).join(', ') || '-',
      s.message ?? (s.exitCode !== null ? `exit ${s.exitCode}` : ''),
    ]);
    ctx.io.stdout.write(renderTable(['SERVICE', 'STATE', 'PID', 'RESTARTS', 'HEALTH', 'PORTS', 'NOTE'], rows));
    if (r.observedAt === null) ctx.io.stdout.write(`\nNo state from ${r.workspace}'s supervisor yet (starting, or its node is away).\n`);
  });
}
