/** `berth user invite|ls|rm` (admins) and `berth register` (anyone with an invite). */
import type { Command } from 'commander';
import { BerthError } from '../../api/index.js';
import { BerthClient } from '../../client/index.js';
import { parseTtlSeconds } from '../args.js';
import { withJson } from '../command-options.js';
import { configPath, writeLogin } from '../config.js';
import type { CliContext } from '../context.js';
import { formatAge } from '../output/format.js';
import { writeJson } from '../output/json.js';
import { renderTable } from '../output/table.js';
import { ensureBerthKey } from '../ssh-key-file.js';

/** Registers `berth user ...`. */
export function registerUser(program: Command, ctx: CliContext): void {
  const user = program.command('user').description('manage the people who use this server (admins)');

  withJson(
    user
      .command('invite')
      .description('create a single-use invite code for a new user')
      .argument('<email>', 'who it is for')
      .option('--role <role>', 'admin or member', 'member')
      .option('--ttl <duration>', 'how long the invite stays valid', '7d'),
  ).action(async (email: string, opts: { role: string; ttl: string }) => {
    if (opts.role !== 'admin' && opts.role !== 'member') throw new BerthError('INVALID_ARGUMENT', `Invalid role "${opts.role}": use admin or member.`, { field: 'role' });
    const client = await ctx.client();
    const invite = await client.call('invitesPost', { body: { email, role: opts.role, ttlSeconds: parseTtlSeconds(opts.ttl) } });
    if (ctx.json) return writeJson(ctx.io.stdout, invite);
    ctx.io.stdout.write(
      `Invite for ${invite.email} (${invite.role}), valid until ${invite.expiresAt}:\n  ${invite.code}\n\n` +
        `They register with:\n  berth register ${client.server} --invite ${invite.code} --name THEIR-NAME\n`,
    );
  });

  withJson(user.command('ls').alias('list').description('list users')).action(async () => {
    const client = await ctx.client();
    const result = await client.call('usersList');
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    const now = ctx.io.now();
    ctx.io.stdout.write(renderTable(['NAME', 'ROLE', 'EMAIL', 'AGE'], result.users.map((u) => [u.name, u.role, u.email ?? '-', formatAge(u.createdAt, now)])));
  });

  withJson(
    user
      .command('rm')
      .alias('remove')
      .description('remove a user; their tokens and keys stop working at once')
      .argument('<name>', 'the user')
      .option('--workspaces <what>', 'what happens to their workspaces: refuse (default), delete or transfer', 'refuse')
      .option('--transfer-to <user>', 'who receives their workspaces with --workspaces transfer'),
  ).action(async (name: string, opts: { workspaces: string; transferTo?: string }) => {
    if (!['refuse', 'delete', 'transfer'].includes(opts.workspaces)) {
      throw new BerthError('INVALID_ARGUMENT', `Invalid --workspaces "${opts.workspaces}": use refuse, delete or transfer.`, { field: 'workspaces' });
    }
    const client = await ctx.client();
    const result = await client.call('userDelete', { params: { name }, body: { workspaces: opts.workspaces, transferTo: opts.transferTo } });
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    let text = `Removed user ${name}.\n`;
    if (result.deletedWorkspaces.length) text += `Deleting their workspaces: ${result.deletedWorkspaces.join(', ')}.\n`;
    if (result.transferredWorkspaces.length) text += `Transferred to ${opts.transferTo}: ${result.transferredWorkspaces.join(', ')}.\n`;
    ctx.io.stdout.write(text);
  });

  withJson(
    program
      .command('register')
      .description('create your account with an invite code, get an API token and an SSH key')
      .argument('<url>', 'the server, e.g. http://127.0.0.1:7080')
      .requiredOption('--invite <code>', 'the invite code an admin gave you')
      .requiredOption('--name <name>', 'your user name')
      .option('--no-ssh-key', 'do not generate or register ~/.ssh/berth_ed25519'),
  ).action(async (url: string, opts: { invite: string; name: string; sshKey: boolean }) => {
    const key = opts.sshKey ? await ensureBerthKey(ctx.io.home, { generate: true }) : null;
    const client = new BerthClient({ server: url });
    const result = await client.call('registerPost', { body: { invite: opts.invite, name: opts.name, sshPublicKey: key?.publicKey } });
    const path = configPath(ctx.io);
    await writeLogin(path, { server: client.server, token: result.token });
    if (ctx.json) return writeJson(ctx.io.stdout, { user: result.user, server: client.server, sshKey: key?.path ?? null });
    ctx.io.stdout.write(
      `Welcome, ${result.user.name} (${result.user.role}). Logged in to ${client.server}; saved to ${path}.\n` +
        (key ? `${key.created ? 'Generated' : 'Registered'} SSH key ${key.path}.\n` : ''),
    );
  });
}
