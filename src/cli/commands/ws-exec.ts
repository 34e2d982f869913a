/**
 * `berth ws exec NAME [-t] [-e K=V]... [-w DIR] -- CMD ARGS...`: runs a command in a workspace
 * with berth's exit status being the command's. --json only changes how berth's own errors
 * are printed; the command's output is passed through untouched.
 */
import type { Command } from 'commander';
import { execRequestSchema, fromZodError } from '../../api/index.js';
import { collectEnv } from '../args.js';
import { optionParser, withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { processExitCode } from '../exit-codes.js';
import { enterRawMode, onTerminalResize, terminalSize } from '../terminal.js';

interface ExecOptions {
  tty?: boolean;
  env?: Record<string, string>;
  workdir?: string;
}

/** Registers `berth ws exec`. */
export function registerWsExec(ws: Command, ctx: CliContext): void {
  withJson(
    ws
      .command('exec')
      .description('run a command in a workspace')
      .argument('<name>', "workspace: NAME (yours) or OWNER/NAME (another's)")
      .argument('<command...>', 'the command and its arguments, after --')
      .option('-t, --tty', 'run in a terminal: interactive programs, colours, line editing')
      .option('-e, --env <NAME=VALUE>', 'set an environment variable (repeatable)', optionParser(collectEnv))
      .option('-w, --workdir <dir>', 'absolute directory to run in')
      .addHelpText(
        'after',
        "\nPut -- before the command so its options are not read as berth's:\n  berth ws exec demo -- ls -la\n  berth ws exec demo -t -- bash",
      ),
  ).action(async (name: string, command: string[], opts: ExecOptions) => {
    const { io } = ctx;
    const tty = opts.tty === true;
    const size = tty ? terminalSize(io.stdout) : undefined;
    const parsed = execRequestSchema.safeParse({ cmd: command, tty, env: opts.env ?? {}, cwd: opts.workdir, ...size });
    if (!parsed.success) throw fromZodError(parsed.error);
    const client = await ctx.client();

    // Without a tty, read stdin only when something is piped in: a terminal on stdin means
    // nobody intends to type input, and reading it would keep `berth ws exec x -- ls` waiting.
    const stdin = tty || !io.stdin.isTTY ? io.stdin : null;
    const restore = tty ? enterRawMode(io.stdin) : () => {};
    try {
      const code = await client.exec(name, parsed.data, {
        stdin,
        stdout: io.stdout,
        stderr: io.stderr,
        onResize: size ? (fn) => onTerminalResize(io.stdout, fn) : undefined,
      });
      ctx.exitCode = processExitCode(code);
    } finally {
      restore();
    }
  });
}
