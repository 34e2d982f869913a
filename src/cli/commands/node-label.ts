/** `berth node label NAME k=v [k2=v2 ...] [k-]`: sets and removes a node's labels (admin only). */
import type { Command } from 'commander';
import { parseLabelEdit } from '../../api/index.js';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';

/** Registers `berth node label`. */
export function registerNodeLabel(node: Command, ctx: CliContext): void {
  withJson(
    node
      .command('label')
      .description('set (KEY=VALUE) or remove (KEY-) labels of a node; `ws create --constraint` matches them')
      .argument('<name>', 'node name')
      .argument('<labels...>', 'KEY=VALUE to set, KEY- to remove'),
  ).action(async (name: string, labels: string[]) => {
    const set: Record<string, string> = {};
    const remove: string[] = [];
    for (const text of labels) {
      const edit = parseLabelEdit(text);
      if (edit.set) set[edit.key] = edit.value;
      else remove.push(edit.key);
    }
    const client = await ctx.client();
    const n = await client.call('nodeLabelsPost', { params: { name }, body: { set, remove } });
    if (ctx.json) return writeJson(ctx.io.stdout, n);
    const now = Object.entries(n.labels).map(([k, v]) => `${k}=${v}`);
    ctx.io.stdout.write(`Node ${n.name} labels: ${now.length ? now.join(', ') : '(none)'}\n`);
  });
}
