/** `berth svc stop NAME SVC`. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { runServiceAction } from '../service-action.js';

/** Registers `berth svc stop`. */
export function registerSvcStop(svc: Command, ctx: CliContext): void {
  withJson(
    svc
      .command('stop')
      .description('stop a service (SIGTERM to its process group, SIGKILL after 10 s); it stays stopped until svc start')
      .argument('<name>', "workspace: NAME (yours) or OWNER/NAME (another's)")
      .argument('<service>', 'service name from the spec'),
  ).action((name: string, service: string) => runServiceAction(ctx, 'stop', name, service));
}
