/** `berth agent`: runs a node agent in this process, dialling out to the server. */
import { type Command, Option } from 'commander';
import { BerthError, nameSchema } from '../../api/index.js';
import { normalizeServerUrl } from '../../client/index.js';
import { parseMetricsListen } from '../args.js';
import { optionParser, withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { defaultNodeName, defaultStateDir } from '../defaults.js';
import { LOG_LEVELS } from './log-levels.js';

function parseNodeName(text: string): string {
  const parsed = nameSchema.safeParse(text);
  if (!parsed.success) throw new BerthError('INVALID_ARGUMENT', `Invalid node name "${text}": ${parsed.error.issues[0]?.message}.`, { field: 'name' });
  return text;
}

/** Commander collector for repeated `--plugin`. */
function collectPlugin(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Registers `berth agent`. */
export function registerAgentRun(program: Command, ctx: CliContext): void {
  withJson(
    program
      .command('agent')
      .description('run a node agent that connects this machine to a berth server')
      .option('--server <url>', 'the berth server (default: the one named in the join token, or the one this node joined)', optionParser(normalizeServerUrl))
      .option('--join-token <token>', 'the one string `berth node join-token` prints (server URL, token and CA fingerprint); needed only on the first start')
      .option('--join-token-file <file>', 'read the join token from this file (kept out of the process list) and remove the file once the node has joined')
      .option(
        '--state-dir <dir>',
        'where the agent keeps its credential and workspace handles (default: $BERTH_STATE_DIR, /var/lib/berth-agent as root, else ~/.local/share/berth-agent)',
      )
      .option('--name <name>', 'node name to join as (default: the host name)', optionParser(parseNodeName))
      .option(
        '--metrics-listen <host:port>',
        "serve this agent's GET /metrics (Prometheus) WITHOUT authentication here; a bare port means 127.0.0.1",
        optionParser(parseMetricsListen),
      )
      .option(
        '--plugin <path|package>',
        'load a provider plugin (a module file, a plugin folder or an npm package; repeatable; see docs/plugins.md)',
        collectPlugin,
        [],
      )
      .addOption(new Option('--log-level <level>', 'how much to log').choices(LOG_LEVELS).default('info')),
  ).action(
    async (opts: {
      server?: string;
      joinToken?: string;
      joinTokenFile?: string;
      stateDir?: string;
      name?: string;
      logLevel: string;
      metricsListen?: string;
      plugin: string[];
    }) => {
      // Loaded only now, so user commands never pay for the agent's code and provider dependencies.
      const { runAgent } = await import('../../agent/main.js');
      await runAgent({
        server: opts.server,
        joinToken: opts.joinToken,
        joinTokenFile: opts.joinTokenFile,
        stateDir: opts.stateDir ?? defaultStateDir(ctx.io),
        name: opts.name ?? defaultNodeName(ctx.io.hostname),
        logLevel: opts.logLevel,
        metricsListen: opts.metricsListen,
        plugins: opts.plugin,
      });
    },
  );
}
