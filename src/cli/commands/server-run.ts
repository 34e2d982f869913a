/** `berth server`: runs the coordination server in this process until it shuts down. */
import { Option, type Command } from 'commander';
import { BerthError } from '../../api/index.js';
import { parseListen } from '../args.js';
import { optionParser, withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { defaultDataDir } from '../defaults.js';
import { LOG_LEVELS, loadEntryModule } from './entry-module.js';

/** What `runServer` in src/server/main.ts takes. */
export interface ServerRunOptions {
  listen: string;
  dataDir: string;
  localAgent: boolean;
  logLevel: string;
}

interface ServerModule {
  runServer(opts: ServerRunOptions): Promise<void>;
}

/** Registers `berth server`. */
export function registerServerRun(program: Command, ctx: CliContext): void {
  withJson(
    program
      .command('server')
      .description('run the berth coordination server')
      .option('--listen <host:port>', 'address to serve the API on', optionParser(parseListen), '127.0.0.1:7080')
      .option('--data-dir <dir>', 'where the server keeps its database and secrets (default: $BERTH_DATA_DIR, /var/lib/berth as root, else ~/.local/share/berth)')
      .option('--local-agent', 'also run an agent for this machine inside the server process', false)
      .addOption(new Option('--log-level <level>', 'how much to log').choices(LOG_LEVELS).default('info')),
  ).action(async (opts: { listen: string; dataDir?: string; localAgent: boolean; logLevel: string }) => {
    // Loaded only now, so user commands never pay for (or depend on) the server's code.
    const mod = await loadEntryModule<ServerModule>('../../server/main.js', 'server');
    if (typeof mod.runServer !== 'function') throw new BerthError('INTERNAL', 'This build of berth has no server entry point (runServer).');
    await mod.runServer({
      listen: opts.listen,
      dataDir: opts.dataDir ?? defaultDataDir(ctx.io),
      localAgent: opts.localAgent,
      logLevel: opts.logLevel,
    });
  });
}
