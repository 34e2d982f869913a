/** The berth command tree: every command registered on one commander program. */
import { Command } from 'commander';
import { BERTH_VERSION } from '../api/index.js';
import { registerAgentRun } from './commands/agent-run.js';
import { registerAuthLogin } from './commands/auth-login.js';
import { registerAuthLogout } from './commands/auth-logout.js';
import { registerAuthWhoami } from './commands/auth-whoami.js';
import { registerImageBuild } from './commands/image-build.js';
import { registerImageLs } from './commands/image-ls.js';
import { registerNodeJoinToken } from './commands/node-join-token.js';
import { registerNodeLs } from './commands/node-ls.js';
import { registerOpCancel } from './commands/op-cancel.js';
import { registerServerRun } from './commands/server-run.js';
import { registerWsCreate } from './commands/ws-create.js';
import { registerWsExec } from './commands/ws-exec.js';
import { registerWsLs } from './commands/ws-ls.js';
import { registerWsRestart } from './commands/ws-restart.js';
import { registerWsRm } from './commands/ws-rm.js';
import { registerWsShow } from './commands/ws-show.js';
import { registerWsStart } from './commands/ws-start.js';
import { registerWsStop } from './commands/ws-stop.js';
import { registerAuditLs } from './commands/audit-ls.js';
import { registerSshKey } from './commands/ssh-key.js';
import { registerToken } from './commands/token.js';
import { registerUser } from './commands/user.js';
import { registerConfigSsh } from './commands/config-ssh.js';
import { registerOpen } from './commands/open.js';
import { registerSsh } from './commands/ssh.js';
import type { CliContext } from './context.js';

/** Builds the program; settings made on the root before registering are inherited by every subcommand. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('berth')
    .description('Remote development workspaces on your own machines: Docker, LXC and QEMU behind one lifecycle.')
    .version(BERTH_VERSION, '-V, --version', 'print the berth version')
    // Errors come back to runCli as exceptions instead of commander calling process.exit, so
    // tests can run the CLI in-process and exit codes are decided in one place.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
    })
    .showHelpAfterError('(add --help for usage)')
    .hook('preAction', (_root, action) => {
      ctx.json = action.opts().json === true;
    });

  registerServerRun(program, ctx);
  registerAgentRun(program, ctx);
  registerAuthLogin(program, ctx);
  registerAuthLogout(program, ctx);
  registerAuthWhoami(program, ctx);

  registerUser(program, ctx);
  registerToken(program, ctx);
  registerSshKey(program, ctx);
  registerAuditLs(program, ctx);
  registerSsh(program, ctx);
  registerConfigSsh(program, ctx);
  registerOpen(program, ctx);
  registerOpCancel(program, ctx);

  const node = program.command('node').description('manage the machines that run workspaces');
  registerNodeLs(node, ctx);
  registerNodeJoinToken(node, ctx);

  const ws = program.command('ws').alias('workspace').description('manage workspaces');
  registerWsCreate(ws, ctx);
  registerWsLs(ws, ctx);
  registerWsShow(ws, ctx);
  registerWsStart(ws, ctx);
  registerWsStop(ws, ctx);
  registerWsRestart(ws, ctx);
  registerWsRm(ws, ctx);
  registerWsExec(ws, ctx);

  const image = program.command('image').description('manage base images');
  registerImageBuild(image, ctx);
  registerImageLs(image, ctx);

  return program;
}
