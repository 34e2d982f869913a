/** `berth svc restart NAME SVC`. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { runServiceAction } from '../service-action.js';

/** Registers `berth svc restart`. */
export function registerSvcRestart(svc: Command, ctx: CliContext): void {
  withJson(
    svc
      .command('restart')
      .description('restart a service (dependents that ask for it restart too)')
      .argument('<name>', "workspace: NAME (yours) or OWNER/NAME (another's)")
      .argument('<service>', 'service name from the spec'),
  ).action((name: string, service: string) => runServiceAction(ctx, 'restart', name, service));
}
