/**
 * The `berth` executable's ES-module entry point (bin/berth imports the bundled form of this
 * file). `berth server`, `berth agent`, runs with BERTH_DEBUG and any run without the V8
 * snapshot come here; user commands normally start from the snapshot (entry/snapshot.ts). It
 * loads as little as it can before it knows which command runs: `--version` answers from here,
 * and everything else imports the CLI, which loads only the invoked command's module.
 */
import module from 'node:module';
import { BERTH_VERSION } from '../api/version.js';

// Node ≥ 22.1 can keep the compiled code of berth's modules on disk, so every run after the
// first skips compiling them; older Nodes lack the call and simply compile as before.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`${BERTH_VERSION}\n`);
} else {
  // Stack traces name the TypeScript sources. Only the long-running server and agent, and
  // runs with BERTH_DEBUG (which prints stacks), pay for reading the source maps.
  const longRunning = argv[0] === 'server' || argv[0] === 'agent';
  if (longRunning || process.env.BERTH_DEBUG) process.setSourceMapsEnabled(true);
  // A user command checks each schema once or twice; compiling zod's fast parsers first costs
  // more than it saves there. The server and agent parse all day and keep them.
  if (!longRunning) (await import('zod')).config({ jitless: true });
  const { runUserCommandAndExit } = await import('./entry/user-command.js');
  await runUserCommandAndExit(argv);
}
