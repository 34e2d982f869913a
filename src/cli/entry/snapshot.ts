/**
 * The entry of the CLI's V8 startup snapshot (built by scripts/bundle.mjs, used by bin/berth).
 *
 * A user command costs Node's own start-up plus loading berth: parsing and compiling the
 * bundle, then running its module bodies — zod building every schema of the contract,
 * commander, the command table. The snapshot builder runs all of that once, at build time, and
 * saves the resulting heap; each `berth ws ls` then starts from that heap the way Node starts
 * from its own built-in snapshot, and only the command itself runs.
 *
 * What may run here (at build time) is limited: Node 20 cannot snapshot node:http, node:https
 * or node:tls, so the client loads them when a request is made, and the bundle turns other
 * such modules into lazy stand-ins. Nothing here may read the environment, the clock or the
 * arguments: those belong to the run, and are read inside the main function below.
 */
// First: zod takes jitless from the config when each schema is made (see zod-jitless.ts).
import './zod-jitless.js';
import { startupSnapshot } from 'node:v8';
import { execRequestSchema, execServerFrameSchema } from '../../api/index.js';
import type { CliContext, CliIO } from '../context.js';
import { buildProgram, loadAllCommands } from '../program.js';
// The exec session (and the WebSocket library under it) is imported by the client only when a
// command execs; loaded here, its modules are evaluated at build time instead of in every
// `berth ws exec` (the same for port streams).
import '../../client/exec-session.js';
import '../../client/port-stream.js';
import { runUserCommandAndExit } from './user-command.js';

// zod finishes building a schema on its first parse; `berth ws exec` parses these on every run,
// so they are parsed once here and start built.
execRequestSchema.safeParse({ cmd: ['true'], tty: false, env: {} });
for (const frame of [{ type: 'started' }, { type: 'stdout', data: '' }, { type: 'exit', code: 0 }]) execServerFrameSchema.safeParse(frame);

startupSnapshot.setDeserializeMainFunction(() => {
  // bin/berth passes its own path as the script (argv[1]), as `node bin/berth` would.
  void runUserCommandAndExit(process.argv.slice(2));
});

// Load every command's module now (without registering any), so their code and what they
// build at load time are in the snapshot too. The builder waits for this before it saves the
// heap; a module that cannot load here fails the build. Then register every command on a throwaway program: commander's option and command code
// and each command's registration run once here, so a command starts with them compiled
// instead of compiling them on its first call. The context is never used: nothing runs.
const unused = (): never => {
  throw new Error('the snapshot build registers commands only');
};
const buildTimeContext: CliContext = {
  // No streams: process.stdin and friends cannot be in a snapshot.
  io: { env: {}, home: '/', hostname: '', isRoot: false, now: unused } as unknown as CliIO,
  json: false,
  exitCode: 0,
  client: unused,
};
loadAllCommands()
  .then(() => buildProgram(buildTimeContext))
  .catch((err: unknown) => {
    process.stderr.write(`the CLI snapshot cannot load every command: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
