/**
 * Runs one user command (anything but `server` and `agent`) in the real process and exits
 * with its status. Shared by the two ways the CLI starts: the bundled ES module (main.ts) and
 * the V8 startup snapshot (snapshot.ts), so both behave the same.
 */
import { deferExtraCaCerts } from '../../client/extra-ca.js';
import { processIO } from '../context.js';
import { runCli } from '../run.js';

/**
 * bin/berth moves NODE_EXTRA_CA_CERTS to BERTH_NODE_EXTRA_CA_CERTS so that Node does not parse
 * those certificates at start-up; the client reads them on its first https connection instead
 * (client/extra-ca.ts), and the variable goes back for any program a command starts.
 */
export function takeDeferredExtraCaCerts(env: NodeJS.ProcessEnv): void {
  const file = env.BERTH_NODE_EXTRA_CA_CERTS;
  if (file === undefined) return;
  delete env.BERTH_NODE_EXTRA_CA_CERTS;
  if (!file) return;
  env.NODE_EXTRA_CA_CERTS = file;
  deferExtraCaCerts(file);
}

/** Runs `argv` (without `node` and the script) and exits the process with the command's status. */
export async function runUserCommandAndExit(argv: string[]): Promise<never> {
  takeDeferredExtraCaCerts(process.env);
  const status = await runCli(argv, processIO());
  // Exit explicitly: an idle keep-alive socket or a paused stdin must not hold the process open
  // once the command is done. Wait for what was printed to be flushed first, since writes to
  // pipes are asynchronous on some platforms.
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))));
  process.exit(status);
}
