/** The `berth` executable's entry point (bin/berth imports the compiled form of this file). */
import { processIO } from './context.js';
import { runCli } from './run.js';

const status = await runCli(process.argv.slice(2), processIO());
// Exit explicitly: an idle keep-alive socket or a paused stdin must not hold the process open
// once the command is done. Wait for what was printed to be flushed first, since writes to
// pipes are asynchronous on some platforms.
await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))));
process.exit(status);
