/** `berth user invite|ls|rm` (admins) and `berth register` (anyone with an invite). */
import type { Command } from 'commander';
import { BerthError, formatConnectString, isConnectString, normalizeFingerprint, parseConnectString } from '../../api/index.js';
import { BerthClient, normalizeServerUrl } from '../../client/index.js';
import { parseTtlSeconds } from '../args.js';
import { optionParser, withJson } from '../command-options.js';
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
      .option('--ttl <duration>', 'how long the invite stays valid', '7d')
      .option('--server <url>', 'the server URL to put in the invite, when people reach it by another name than you do', optionParser(normalizeServerUrl)),
  ).action(async (email: string, opts: { role: string; ttl: string; server?: string }) => {
    if (opts.role !== 'admin' && opts.role !== 'member')
      throw new BerthError('INVALID_ARGUMENT', `Invalid role "${opts.role}": use admin or member.`, { field: 'role' });
    const client = await ctx.client();
    const invite = await client.call('invitesPost', { body: { email, role: opts.role, ttlSeconds: parseTtlSeconds(opts.ttl) } });
    // One string holds the server URL, the code and the CA fingerprint this CLI pinned, so the
    // invitee pins the same CA without being asked.
    const connect = formatConnectString({ kind: 'invite', server: opts.server ?? client.server, secret: invite.code, fingerprint: client.ca?.fingerprint });
    if (ctx.json) return writeJson(ctx.io.stdout, { ...invite, connect });
    ctx.io.stdout.write(
      `Invite for ${invite.email} (${invite.role}), valid until ${invite.expiresAt}:\n  ${connect}\n\n` +
        `They register with:\n  berth register --invite ${connect} --name THEIR-NAME\n`,
    );
  });

  withJson(user.command('ls').alias('list').description('list users')).action(async () => {
    const client = await ctx.client();
    const result = await client.call('usersList');
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    const now = ctx.io.now();
    ctx.io.stdout.write(
      renderTable(
        ['NAME', 'ROLE', 'EMAIL', 'AGE'],
        result.users.map((u) => [u.name, u.role, u.email ?? '-', formatAge(u.createdAt, now)]),
      ),
    );
  });

  for (const [verb, route, what] of [
    ['disable', 'userDisablePost', 'disable a user: their tokens, keys and browser sessions stop working and their live sessions end; their workspaces stay'],
    ['enable', 'userEnablePost', 'enable a disabled user again'],
  ] as const) {
    withJson(user.command(verb).description(what).argument('<name>', 'the user')).action(async (name: string) => {
      const client = await ctx.client();
      const result = await client.call(route, { params: { name } });
      if (ctx.json) return writeJson(ctx.io.stdout, result);
      const ended =
        'endedSessions' in result && result.endedSessions > 0 ? ` (ended ${result.endedSessions} live session${result.endedSessions === 1 ? '' : 's'})` : '';
      ctx.io.stdout.write(`${verb === 'disable' ? 'Disabled' : 'Enabled'} user ${name}${ended}.\n`);
    });
  }

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
      .argument('[url]', 'the server, e.g. https://berth.example.com:7080 (not needed with a one-string invite)')
      .requiredOption('--invite <code>', 'the invite an admin gave you (the one string `berth user invite` prints)')
      .requiredOption('--name <name>', 'your user name')
      .option('--fingerprint <sha256:hex>', "an https server's CA fingerprint, when the invite does not hold it")
      .option('--no-ssh-key', 'do not generate or register ~/.ssh/berth_ed25519'),
  ).action(async (url: string | undefined, opts: { invite: string; name: string; sshKey: boolean; fingerprint?: string }) => {
    let code = opts.invite;
    let fingerprint = opts.fingerprint;
    if (isConnectString(code)) {
      const parsed = parseConnectString(code, 'invite', 'invite');
      code = parsed.secret;
      url ??= parsed.server;
      if (parsed.fingerprint && fingerprint && normalizeFingerprint(fingerprint) !== parsed.fingerprint) {
        throw new BerthError(
          'INVALID_ARGUMENT',
          `--fingerprint ${fingerprint} differs from the fingerprint in the invite (${parsed.fingerprint}); ask the admin which is right.`,
          { field: 'fingerprint' },
        );
      }
      fingerprint ??= parsed.fingerprint;
    }
    if (!url)
      throw new BerthError('INVALID_ARGUMENT', 'Give the server URL, or the one-string invite `berth user invite` prints (it holds the URL).', {
        field: 'url',
      });
    const server = normalizeServerUrl(url);
    const ca = server.startsWith('https:') ? await (await import('../server-trust.js')).pinForLogin(ctx.io, server, fingerprint, 'fingerprint') : undefined;
    const key = opts.sshKey ? await ensureBerthKey(ctx.io.home, { generate: true }) : null;
    const client = new BerthClient({ server, ca });
    const result = await client.call('registerPost', { body: { invite: code, name: opts.name, sshPublicKey: key?.publicKey } });
    const path = configPath(ctx.io);
    await writeLogin(path, { server: client.server, token: result.token, ...(ca ? { caFingerprint: ca.fingerprint, caCert: ca.pem } : {}) });
    if (ctx.json) return writeJson(ctx.io.stdout, { user: result.user, server: client.server, sshKey: key?.path ?? null });
    ctx.io.stdout.write(
      `Welcome, ${result.user.name} (${result.user.role}). Logged in to ${client.server}; saved to ${path}.\n` +
        (key ? `${key.created ? 'Generated' : 'Registered'} SSH key ${key.path}.\n` : ''),
    );
  });
}
