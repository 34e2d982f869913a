/**
 * Entry point of the single-file agent bundle (dist/agent-bundle/berth-agent.mjs, made by
 * scripts/bundle.mjs): `node berth-agent.mjs agent --server URL ...` runs `berth agent` on a
 * machine that has only Node. It registers the one `agent` command, so the bundle carries the
 * agent, its providers and their libraries, and none of the server or the user commands.
 */
import { Command } from 'commander';
import { BerthError } from '../api/errors.js';
import { BERTH_VERSION } from '../api/version.js';
import { registerAgentRun } from './commands/agent-run.js';
import { type CliContext, processIO } from './context.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { writeError } from './output/errors.js';

process.setSourceMapsEnabled(true);
const io = processIO();
const ctx: CliContext = {
  io,
  json: false,
  exitCode: EXIT.OK,
  client: async () => {
    throw new BerthError('FAILED_PRECONDITION', 'The agent bundle runs only `berth agent`.');
  },
};
const program = new Command('berth-agent').version(BERTH_VERSION, '-V, --version', 'print the berth version').exitOverride();
registerAgentRun(program, ctx);
let status: number = EXIT.OK;
try {
  await program.parseAsync(process.argv.slice(2), { from: 'user' });
  status = ctx.exitCode;
} catch (err) {
  if (err instanceof BerthError) {
    writeError(io.stderr, err.toJSON(), false);
    status = exitCodeFor(err.code);
  } else if (err && typeof err === 'object' && 'exitCode' in err && typeof err.exitCode === 'number') {
    // commander already printed its usage error or the help it was asked for.
    status = err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  } else {
    io.stderr.write(`berth-agent hit an unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    status = EXIT.FAILURE;
  }
}
process.exit(status);
