/** `berth svc start NAME SVC`. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { runServiceAction } from '../service-action.js';

/** Registers `berth svc start`. */
export function registerSvcStart(svc: Command, ctx: CliContext): void {
  withJson(
    svc
      .command('start')
      .description('start a stopped service (its dependencies are not waited for)')
      .argument('<name>', "workspace: NAME (yours) or OWNER/NAME (another's)")
      .argument('<service>', 'service name from the spec'),
  ).action((name: string, service: string) => runServiceAction(ctx, 'start', name, service));
}
