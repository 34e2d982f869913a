/**
 * `berth ssh NAME|OWNER/NAME [-- CMD...]`: the system `ssh` client to the workspace through the server's
 * SSH gateway, with berth's key and a pinned host key, exit status passed through.
 * `berth ssh --stdio NAME` is the ProxyCommand form: it joins stdin/stdout to the gateway's TCP
 * port so OpenSSH (and editors that use it) runs its own protocol end to end.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { Command } from 'commander';
import { BerthError, CLIENT_CIPHERS, formatSshUser, parseSshUser } from '../../api/index.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { processExitCode } from '../exit-codes.js';
import { shellWord } from '../ssh-config.js';
import { fetchGateway, identityFile, pinHostKey } from '../ssh-gateway.js';

interface SshOptions {
  stdio?: boolean;
  identity?: string;
  option?: string[];
  tty?: boolean;
}

/** Registers `berth ssh`. */
export function registerSsh(program: Command, ctx: CliContext): void {
  withJson(
    program
      .command('ssh')
      .description('open a shell (or run a command) in a workspace over SSH')
      .argument('<name>', "workspace: NAME (yours) or OWNER/NAME (another's)")
      .argument('[command...]', 'a command to run instead of a shell, after --')
      .option('--stdio', 'connect stdin/stdout to the SSH gateway (for ProxyCommand) instead of running ssh')
      .option('-i, --identity <file>', 'private key to log in with (default: ~/.ssh/berth_ed25519)')
      .option('-o, --option <ssh-option>', 'pass an option to ssh, e.g. -o ServerAliveInterval=30 (repeatable)', (v: string, prev: string[] = []) => [
        ...prev,
        v,
      ])
      .option('-t, --tty', 'force a terminal even for a command')
      .addHelpText(
        'after',
        "\nOne command argument is a shell command line, as with ssh; several are quoted and run as they are:\n  berth ssh demo\n  berth ssh demo -- ls -la /tmp\n  berth ssh demo -- 'echo $HOME'",
      ),
  ).action(async (name: string, command: string[], opts: SshOptions) => {
    // NAME, OWNER/NAME, or OWNER.NAME (the SSH user form config-ssh writes): ssh gets OWNER.NAME.
    const ref = parseSshUser(name);
    if (!ref)
      throw new BerthError('INVALID_ARGUMENT', `"${name}" is not a workspace: use NAME for yours or OWNER/NAME for another's; see \`berth ws ls\`.`, {
        field: 'name',
      });
    const gw = await fetchGateway(await ctx.client());
    if (opts.stdio) return void (await bridgeStdio(ctx, gw.host, gw.port));

    const knownHosts = await pinHostKey(ctx.io, gw);
    const key = await identityFile(ctx.io, opts.identity);
    const args = ['-p', String(gw.port), '-i', key, '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes'];
    for (const o of opts.option ?? []) args.push('-o', o);
    // After the caller's -o, which win (ssh keeps the first value it is given).
    args.push('-o', `Ciphers=${CLIENT_CIPHERS}`);
    if (opts.tty) args.push('-t');
    args.push('--', `${formatSshUser(ref)}@${gw.host}`);
    if (command.length === 1) args.push(command[0]);
    else if (command.length > 1) args.push(command.map(shellWord).join(' '));
    ctx.exitCode = await runSsh(args);
  });
}

/** Runs the system ssh with this terminal; resolves with its exit status. */
function runSsh(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: 'inherit' });
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new BerthError('FAILED_PRECONDITION', 'The ssh client is not installed; install OpenSSH (Debian: apt-get install openssh-client) and retry.', {
              field: 'ssh',
            })
          : err,
      ),
    );
    child.on('close', (code, signal) => resolve(signal ? 255 : processExitCode(code ?? 255)));
  });
}

/** Copies bytes between stdin/stdout and the gateway until either side closes. */
function bridgeStdio(ctx: CliContext, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    socket.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new BerthError(
          'UNAVAILABLE',
          `Cannot reach the SSH gateway at ${host}:${port} (${err.code ?? err.message}); check that the server is running and the port is reachable.`,
          { field: 'sshGateway' },
        ),
      ),
    );
    socket.once('connect', () => {
      ctx.io.stdin.pipe(socket);
      socket.pipe(ctx.io.stdout);
    });
    socket.once('close', () => resolve());
  });
}
