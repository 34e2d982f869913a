/** Runs one berth invocation and decides its exit status; everything but process.exit happens here. */
import { CommanderError } from 'commander';
import { BerthError, type ApiError } from '../api/index.js';
import { BerthClient } from '../client/index.js';
import { configPath, readLogin, resolveLogin } from './config.js';
import type { CliContext, CliIO } from './context.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { OperationFailedError } from './operation-follow.js';
import { writeError } from './output/errors.js';
import { buildProgram } from './program.js';

/** Runs the CLI with the given arguments (without `node` and the script) and returns the exit status. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const ctx: CliContext = {
    io,
    json: false,
    exitCode: EXIT.OK,
    client: async () => {
      // With both variables set the file is not needed, and a damaged one must not get in the way.
      const saved = io.env.BERTH_SERVER && io.env.BERTH_TOKEN ? undefined : await readLogin(configPath(io));
      return new BerthClient(resolveLogin(io.env, saved));
    },
  };
  try {
    // Only the invoked command's module is loaded: the program is built for these arguments.
    await (await buildProgram(ctx, argv)).parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    return reportFailure(ctx, err);
  }
}

/** Prints a failure the way the user asked for (text or JSON) and returns the matching exit status. */
function reportFailure(ctx: CliContext, err: unknown): number {
  // Commander already printed its message (or the help/version it was asked for).
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  if (err instanceof OperationFailedError) {
    writeError(ctx.io.stderr, err.error, ctx.json);
    return EXIT.FAILURE;
  }
  if (err instanceof BerthError) {
    writeError(ctx.io.stderr, err.toJSON(), ctx.json);
    return exitCodeFor(err.code);
  }
  const unexpected: ApiError = {
    code: 'INTERNAL',
    message: `berth hit an unexpected error: ${err instanceof Error ? err.message : String(err)}`,
  };
  if (ctx.io.env.BERTH_DEBUG && err instanceof Error && err.stack) unexpected.detail = err.stack;
  writeError(ctx.io.stderr, unexpected, ctx.json);
  return EXIT.FAILURE;
}
