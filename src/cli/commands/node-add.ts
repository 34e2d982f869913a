/**
 * `berth node add ssh://USER@HOST[:PORT]`: the server logs in over SSH, installs (or upgrades)
 * the agent there and waits for the node to come online. The CLI only reads the identity
 * file and sends it with the request: the server uses it for this operation and never stores
 * it (docs/security.md).
 */
import type { Command } from 'commander';
import { BerthError, type NodesSshPost, parseNodeLabel, parseSshTarget, sshFingerprintSchema } from '../../api/index.js';
import { listAllNodes, normalizeServerUrl } from '../../client/index.js';
import { optionParser, withJson, withNoWait } from '../command-options.js';
import type { CliContext } from '../context.js';
import { acceptedMessage, followOperation } from '../operation-follow.js';
import { writeJson } from '../output/json.js';
import { readIdentity } from '../ssh-identity.js';

interface AddOptions {
  identity?: string;
  name?: string;
  label: Array<[string, string]>;
  hostKeyFingerprint?: string;
  serverUrl?: string;
  wait: boolean;
}

function parseFingerprint(text: string): string {
  const r = sshFingerprintSchema.safeParse(text);
  if (!r.success)
    throw new BerthError('INVALID_ARGUMENT', `"${text.slice(0, 80)}" is not a host key fingerprint: ${r.error.issues[0]?.message}.`, {
      field: 'host-key-fingerprint',
    });
  return text;
}

/** Registers `berth node add`. */
export function registerNodeAdd(node: Command, ctx: CliContext): void {
  withNoWait(
    withJson(
      node
        .command('add')
        .description('install the agent on a machine over SSH and add it as a node (again: upgrade it in place)')
        .argument('<target>', 'ssh://USER@HOST[:PORT] of the machine; USER must be root')
        .option(
          '--identity <file>',
          'SSH private key that logs in there (default: ~/.ssh/id_ed25519, else ~/.ssh/berth_ed25519); sent to the server for this operation only',
        )
        .option('--name <name>', "node name (default: the machine's host name)")
        .option(
          '--label <key=value>',
          'a label for the node; repeat for more',
          optionParser((text: string, prev: Array<[string, string]>) => [...prev, parseNodeLabel(text)]),
          [],
        )
        .option(
          '--host-key-fingerprint <SHA256:...>',
          "the machine's SSH host key fingerprint (ssh-keygen -lf); without it the key is accepted on first add, shown, and pinned",
          optionParser(parseFingerprint),
        )
        .option('--server-url <url>', "the URL the node's agent dials (default: the server URL this CLI uses)", optionParser(normalizeServerUrl)),
    ),
  ).action(async (targetText: string, opts: AddOptions) => {
    const target = parseSshTarget(targetText);
    const identity = await readIdentity(ctx, opts.identity);
    const client = await ctx.client();
    const body: NodesSshPost = {
      user: target.user,
      host: target.host,
      port: target.port,
      privateKey: identity.key,
      labels: Object.fromEntries(opts.label),
      serverUrl: opts.serverUrl ?? client.server,
    };
    if (ctx.io.env.BERTH_SSH_KEY_PASSPHRASE) body.passphrase = ctx.io.env.BERTH_SSH_KEY_PASSPHRASE;
    if (opts.name !== undefined) body.name = opts.name;
    if (opts.hostKeyFingerprint !== undefined) body.hostKeyFingerprint = opts.hostKeyFingerprint;
    const accepted = await client.call('nodesSshPost', { body });
    if (!opts.wait) {
      if (ctx.json) writeJson(ctx.io.stdout, accepted);
      else ctx.io.stdout.write(acceptedMessage(accepted.operation));
      return;
    }
    const operation = await followOperation(ctx, client, accepted.operation, `adding ${targetText}`);
    // The operation's target names the node (node/NAME) once the server has learnt its name.
    const name = operation.target.replace(/^node\//, '');
    const added = (await listAllNodes(client)).find((n) => n.name === name) ?? null;
    if (ctx.json) return writeJson(ctx.io.stdout, { operation, node: added });
    ctx.io.stdout.write(`Node ${name} is ${added?.status ?? 'added'}; run workspaces there with: berth ws create WORKSPACE --node ${name}\n`);
  });
}
