/** `berth ws create NAME`: creates a workspace and, unless --no-wait, follows it until it runs, in one request. */
import { type Command, Option } from 'commander';
import { BerthError, parseConstraint } from '../../api/index.js';
import { parseCpus } from '../args.js';
import { optionParser, withJson, withNoWait } from '../command-options.js';
import type { CliContext } from '../context.js';
import { acceptedMessage, OperationFailedError, withProgress } from '../operation-follow.js';
import { writeJson } from '../output/json.js';
// Workspace specs: --spec FILE / --from DIR, flags over the spec's values.
import { createBody } from '../workspace-spec/create-body.js';
import { readSpec } from '../workspace-spec/spec-file.js';

/** Commander collector for repeated `--constraint`, each checked at once. */
function collectConstraint(text: string, previous: string[]): string[] {
  parseConstraint(text);
  return [...previous, text];
}

interface CreateOptions {
  provider?: string;
  spec?: string;
  from?: string;
  image?: string;
  node?: string;
  cpus?: number;
  memory?: string;
  constraint: string[];
  wait: boolean;
  template?: string;
  /** Teams and sharing. */
  team?: string;
}

/** Registers `berth ws create`. */
export function registerWsCreate(ws: Command, ctx: CliContext): void {
  withNoWait(
    withJson(
      ws
        .command('create')
        .description('create a workspace and start it')
        .argument('[name]', "workspace name: lowercase letters, digits and dashes (default: the spec's name)")
        // Any kind a node's plugin adds is valid too, so the kind is checked by the API schema, not a fixed list.
        .addOption(
          new Option(
            '--provider <kind>',
            "what runs it: docker, lxc, qemu, or a plugin provider a node offers (see `berth node show`); default: the spec's provider, else docker",
          ),
        )
        .option('--spec <file>', 'create from this berth.yaml or devcontainer.json: image, resources, env, hooks and services; flags win over its values')
        .option('--from <dir>', 'create from the spec in this project directory (berth.yaml, else .devcontainer/devcontainer.json)')
        .option('--image <image>', 'base image name (see `berth image ls`; default: base, which the quickstart builds)')
        .option('--node <node>', 'node to place it on (default: the scheduler picks)')
        .option('--cpus <n>', 'CPU limit, e.g. 2 or 0.5', optionParser(parseCpus))
        .option('--memory <size>', 'memory limit, e.g. 512m or 2g')
        .option('--template <name>', "start from an admin's workspace template (its spec's defaults and limits; flags and --spec win)")
        .option(
          '--constraint <k=v|k!=v>',
          'place only on a node whose label matches (repeatable), e.g. zone=eu or gpu!=none',
          optionParser(collectConstraint),
          [],
        )
        // Teams and sharing.
        .option('--team <team>', "make it the team's: every member may use it, and the team's quotas apply"),
    ),
  ).action(async (given: string | undefined, opts: CreateOptions) => {
    if (opts.spec !== undefined && opts.from !== undefined)
      throw new BerthError('INVALID_ARGUMENT', 'Give either --spec FILE or --from DIR, not both.', { field: 'spec' });
    const path = opts.spec ?? opts.from;
    const loaded = path === undefined ? null : await readSpec(path, opts.spec !== undefined ? 'spec' : 'from');
    // What berth does not honour in a devcontainer.json is said, never dropped silently.
    for (const w of loaded?.warnings ?? []) ctx.io.stderr.write(`warning: ${w}\n`);
    const body = createBody(given, opts, loaded?.spec ?? null, loaded?.file);
    if (opts.template !== undefined) body.template = opts.template;
    if (opts.team !== undefined) body.team = opts.team;
    const name = body.name;
    const client = await ctx.client();
    if (!opts.wait) {
      // The client checks the body against the API schema first, so a bad name or memory size
      // fails here with the server's own wording.
      const accepted = await client.call('workspacesPost', { body });
      if (ctx.json) writeJson(ctx.io.stdout, accepted);
      else ctx.io.stdout.write(acceptedMessage(accepted.operation));
      return;
    }
    // One request: the server creates the workspace and streams its progress until it runs.
    const { operation, workspace } = await withProgress(ctx, `creating ${name}`, (onEvent, onOperation) =>
      client.createWorkspace(body, onEvent, (accepted) => onOperation(accepted.operation)),
    );
    if (operation.status === 'failed' || !workspace) throw new OperationFailedError(operation);
    if (ctx.json) return writeJson(ctx.io.stdout, { workspace, operation });
    ctx.io.stdout.write(
      `Workspace ${workspace.name} is ${workspace.status} on node ${workspace.nodeName} (${workspace.provider}, image ${workspace.image}).\n` +
        `Run commands in it with: berth ws exec ${workspace.name} -- sh\n`,
    );
  });
}
