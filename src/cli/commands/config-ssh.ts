/**
 * `berth config-ssh`: one `Host NAME.berth` entry per workspace you can see (`OWNER.NAME.berth`
 * for another's: names are unique per owner), in a clearly marked block of ~/.ssh/config, so `ssh NAME.berth`, scp, rsync and editors' Remote-SSH reach them
 * through `berth ssh --stdio`. Running it again replaces only that block.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { formatSshUser, parseWorkspaceRef, sshHostAlias } from '../../api/index.js';
import { listAllWorkspaces } from '../../client/index.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';
import { renderManagedBlock, upsertManagedBlock } from '../ssh-config.js';
import { berthCommandLine, fetchGateway, identityFile, pinHostKey } from '../ssh-gateway.js';

/** Registers `berth config-ssh`. */
export function registerConfigSsh(program: Command, ctx: CliContext): void {
  withJson(
    program
      .command('config-ssh')
      .description(
        "add your workspaces to ~/.ssh/config as NAME.berth, others' you can see as OWNER.NAME.berth (a managed block; your own lines are never touched)",
      )
      .option('--ssh-config <file>', 'the SSH config file to update (default: ~/.ssh/config)')
      .option('-i, --identity <file>', 'private key the entries use (default: ~/.ssh/berth_ed25519)'),
  ).action(async (opts: { sshConfig?: string; identity?: string }) => {
    const client = await ctx.client();
    const [gw, workspaces] = await Promise.all([fetchGateway(client), listAllWorkspaces(client)]);
    const key = await identityFile(ctx.io, opts.identity);
    const knownHosts = await pinHostKey(ctx.io, gw);
    const file = opts.sshConfig ?? join(ctx.io.home, '.ssh', 'config');
    // The SSH user of each: NAME for yours, OWNER.NAME for another's (the server's `ref`, dotted).
    const names = workspaces.map((w) => formatSshUser(parseWorkspaceRef(w.ref) ?? { owner: w.owner, name: w.name }));
    const block = renderManagedBlock(names, {
      host: gw.host,
      port: gw.port,
      identityFile: key,
      knownHostsFile: knownHosts,
      berthCommand: berthCommandLine(),
      server: client.server,
    });

    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    let existing = '';
    try {
      existing = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const next = upsertManagedBlock(existing, block);
    // A new file is made 0600 (ssh refuses configs others can write); an existing one keeps its mode.
    if (next !== existing || existing === '') await writeFile(file, next, { mode: 0o600 });
    const hosts = names.map(sshHostAlias);
    if (ctx.json) return writeJson(ctx.io.stdout, { file, knownHosts, hosts });
    if (hosts.length === 0)
      return void ctx.io.stdout.write(`No workspaces yet; ${file} has an empty berth block. Create one with \`berth ws create NAME\` and run this again.\n`);
    ctx.io.stdout.write(`Updated ${file} with ${hosts.length} host${hosts.length === 1 ? '' : 's'}: ${hosts.join(', ')}\nConnect with: ssh ${hosts[0]}\n`);
  });
}
