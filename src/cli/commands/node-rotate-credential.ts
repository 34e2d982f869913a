/** `berth node rotate-credential NAME`: gives a connected node a new credential and retires the old one. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth node rotate-credential`. */
export function registerNodeRotateCredential(node: Command, ctx: CliContext): void {
  withJson(
    node.command('rotate-credential').description("issue a new credential to a connected node's agent and retire the old one").argument('<name>', 'the node'),
  ).action(async (name: string) => {
    const client = await ctx.client();
    const result = await client.call('nodeRotateCredentialPost', { params: { name } });
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    ctx.io.stdout.write(`Rotated the credential of node ${result.node}; the old one no longer works.\n`);
  });
}
