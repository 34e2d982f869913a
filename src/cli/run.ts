/** Runs one berth invocation and decides its exit status; everything but process.exit happens here. */
import { type Command, CommanderError } from 'commander';
import { type ApiError, apiErrorSchema, BerthError } from '../api/index.js';
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
      const login = resolveLogin(io.env, saved);
      // TLS pinning code is loaded only for https servers; `ws ls` against http loads none of it.
      if (!login.server.startsWith('https:')) return new BerthClient(login);
      const { pinnedCaFor } = await import('./server-trust.js');
      return new BerthClient({ ...login, ca: await pinnedCaFor(io.env, login) });
    },
  };
  // The preAction hook sets ctx.json only once a command runs; usage errors come before that,
  // so --json is read from the arguments berth itself parses (those before `--`).
  ctx.json = wantsJson(argv);
  try {
    // Only the invoked command's module is loaded: the program is built for these arguments.
    const program = await buildProgram(ctx, argv);
    if (ctx.json) silenceUsageErrors(program);
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    return reportFailure(ctx, err);
  }
}

/** True when `--json` is among berth's own arguments; after `--` it belongs to a remote command. */
export function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * Stops commander printing usage errors (and the help hint after them) on every command, so
 * that reportFailure prints them once, as JSON. Help and --version output are left alone.
 */
function silenceUsageErrors(cmd: Command): void {
  cmd.configureOutput({ outputError: () => {} }).showHelpAfterError(false);
  for (const sub of cmd.commands) silenceUsageErrors(sub);
}

/** Commander's codes for output that was asked for (help, version) rather than a usage error. */
const NOT_USAGE_ERRORS = new Set(['commander.helpDisplayed', 'commander.version', 'commander.help']);

/** Prints a failure the way the user asked for (text or JSON) and returns the matching exit status. */
function reportFailure(ctx: CliContext, err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) return EXIT.OK;
    // In text mode commander already printed its message (or the help it was asked for); with
    // --json it printed nothing, and the usage error becomes the JSON error shape.
    if (ctx.json && !NOT_USAGE_ERRORS.has(err.code)) {
      writeError(ctx.io.stderr, { code: 'INVALID_ARGUMENT', message: err.message.replace(/^error: /, '') }, true);
    }
    return EXIT.USAGE;
  }
  // The operation's own error code says what kind of failure it was (NODE_OFFLINE → 6, ...).
  if (err instanceof OperationFailedError) {
    writeError(ctx.io.stderr, err.error, ctx.json);
    return exitCodeFor(err.error.code);
  }
  if (err instanceof BerthError) {
    writeError(ctx.io.stderr, err.toJSON(), ctx.json);
    return exitCodeFor(err.code);
  }
  // `berth server` and `berth agent` run the compiler's output while the CLI runs its bundle,
  // so their BerthError is a different class: it is recognised by its name and shape.
  if (err instanceof Error && err.name === 'BerthError') {
    const parsed = apiErrorSchema.safeParse({ ...err, message: err.message });
    if (parsed.success) {
      writeError(ctx.io.stderr, parsed.data, ctx.json);
      return exitCodeFor(parsed.data.code);
    }
  }
  const unexpected: ApiError = {
    code: 'INTERNAL',
    message: `berth hit an unexpected error: ${err instanceof Error ? err.message : String(err)}`,
  };
  if (ctx.io.env.BERTH_DEBUG && err instanceof Error && err.stack) unexpected.detail = err.stack;
  writeError(ctx.io.stderr, unexpected, ctx.json);
  return EXIT.FAILURE;
}
