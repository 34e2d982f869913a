/** `berth ssh-key generate|add|ls|rm`: the SSH keys that let you into your workspaces. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { BerthError } from '../../api/index.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { formatAge } from '../output/format.js';
import { writeJson } from '../output/json.js';
import { renderTable } from '../output/table.js';
import { ensureBerthKey } from '../ssh-key-file.js';

async function readStdin(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Registers the `berth ssh-key` commands. */
export function registerSshKey(program: Command, ctx: CliContext): void {
  const key = program.command('ssh-key').description('manage the SSH keys that open your workspaces');

  withJson(
    key
      .command('generate')
      .description('create ~/.ssh/berth_ed25519 (never overwriting) and register it')
      .option('--name <name>', 'a name for the key', 'berth'),
  ).action(async (opts: { name: string }) => {
    const client = await ctx.client();
    const local = await ensureBerthKey(ctx.io.home, { generate: true });
    // Running generate again is harmless: an existing key that is already ours is just reported.
    const registered = await client.call('sshKeysPost', { body: { name: opts.name, publicKey: local.publicKey } }).catch(async (err: unknown) => {
      if (!(err instanceof BerthError) || err.code !== 'ALREADY_EXISTS') throw err;
      const mine = (await client.call('sshKeysList')).keys.find((k) => k.publicKey.split(' ')[1] === local.publicKey.split(' ')[1]);
      if (!mine) throw err;
      return mine;
    });
    if (ctx.json) return writeJson(ctx.io.stdout, { ...registered, path: local.path, created: local.created });
    ctx.io.stdout.write(`${local.created ? 'Generated' : 'Using existing'} ${local.path}\nRegistered ${registered.fingerprint} as "${registered.name}".\n`);
  });

  withJson(
    key
      .command('add')
      .description('register a public key from a file, or - for standard input')
      .argument('<file>', 'a .pub file or -')
      .option('--name <name>', 'a name for the key'),
  ).action(async (file: string, opts: { name?: string }) => {
    const text =
      file === '-'
        ? await readStdin(ctx.io.stdin)
        : await readFile(file, 'utf8').catch(() => {
            throw new BerthError('NOT_FOUND', `Cannot read ${file}; give the path of a .pub file, or - to read standard input.`, { field: 'file' });
          });
    const line =
      text
        .split('\n')
        .map((l) => l.trim())
        .find((l) => l && !l.startsWith('#')) ?? '';
    const name =
      opts.name ??
      (line
        .split(/\s+/)[2]
        ?.replace(/[^A-Za-z0-9._@-]/g, '-')
        .slice(0, 64) ||
        'key');
    const client = await ctx.client();
    const registered = await client.call('sshKeysPost', { body: { name, publicKey: line } });
    if (ctx.json) return writeJson(ctx.io.stdout, registered);
    ctx.io.stdout.write(`Registered ${registered.fingerprint} as "${registered.name}".\n`);
  });

  withJson(key.command('ls').alias('list').description('list your SSH keys')).action(async () => {
    const client = await ctx.client();
    const result = await client.call('sshKeysList');
    if (ctx.json) return writeJson(ctx.io.stdout, result);
    if (result.keys.length === 0) return void ctx.io.stdout.write('No SSH keys yet; create one with `berth ssh-key generate`.\n');
    const now = ctx.io.now();
    ctx.io.stdout.write(
      renderTable(
        ['NAME', 'ALGORITHM', 'FINGERPRINT', 'AGE', 'ID'],
        result.keys.map((k) => [k.name, k.algorithm, k.fingerprint, formatAge(k.createdAt, now), k.id]),
      ),
    );
  });

  withJson(key.command('rm').alias('remove').description('remove one of your SSH keys').argument('<key>', 'its id, name or fingerprint')).action(
    async (ref: string) => {
      const client = await ctx.client();
      const result = await client.call('sshKeyDelete', { params: { id: ref } });
      if (ctx.json) return writeJson(ctx.io.stdout, result);
      ctx.io.stdout.write(`Removed ${result.key.fingerprint} ("${result.key.name}"); it no longer opens your workspaces.\n`);
    },
  );
}
