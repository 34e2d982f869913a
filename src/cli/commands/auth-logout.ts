/** `berth logout`: forgets the saved server and token. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import { configPath, readLogin, removeLogin } from '../config.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth logout`. */
export function registerAuthLogout(program: Command, ctx: CliContext): void {
  withJson(program.command('logout').description('forget the saved server and token')).action(async () => {
    const path = configPath(ctx.io);
    // A damaged file should still be removable, so read it only for the message.
    const saved = await readLogin(path).catch(() => undefined);
    const removed = await removeLogin(path);
    if (ctx.json) writeJson(ctx.io.stdout, { loggedOut: removed, server: saved?.server ?? null });
    else if (removed) ctx.io.stdout.write(saved ? `Logged out of ${saved.server}.\n` : `Removed ${path}.\n`);
    else ctx.io.stdout.write('Not logged in; nothing to do.\n');
  });
}
