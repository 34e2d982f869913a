/** `berth spec check [PATH]`: validates a project's berth.yaml or devcontainer.json and shows what berth would run. */
import type { Command } from 'commander';
import { withJson } from '../command-options.js';
import type { CliContext } from '../context.js';
import { writeJson } from '../output/json.js';
import { renderFields } from '../output/table.js';
import { readSpec } from '../workspace-spec/spec-file.js';

/** Registers `berth spec check`. */
export function registerSpecCheck(spec: Command, ctx: CliContext): void {
  withJson(
    spec
      .command('check')
      .alias('validate')
      .description('check a berth.yaml or devcontainer.json and show the services in start order')
      .argument('[path]', 'a spec file, or a project directory to search', '.'),
  ).action(async (given: string) => {
    const loaded = await readSpec(given, 'path');
    for (const w of loaded.warnings) ctx.io.stderr.write(`warning: ${w}\n`);
    if (ctx.json)
      return writeJson(ctx.io.stdout, { file: loaded.file, format: loaded.format, spec: loaded.spec, resolved: loaded.resolved, warnings: loaded.warnings });
    const { spec: s, resolved } = loaded;
    const portText = (p: { port: number; protocol: string; label: string | null }) => `${p.port}/${p.protocol}${p.label ? ` (${p.label})` : ''}`;
    const servicePorts = resolved.services.flatMap((svc) => svc.ports.map((p) => `${portText(p)} from ${svc.name}`));
    const fields: Array<[string, string]> = [
      ['File', `${loaded.file} (${loaded.format === 'berth' ? 'berth spec' : 'devcontainer.json'})`],
      ['Name', s.name ?? '- (name it on the command line)'],
      ['Image', s.image ?? 'base (the default)'],
      ['Provider', s.provider ?? 'docker (the default)'],
      ['Resources', `${s.cpus ?? 'any'} CPUs, ${s.memory ?? 'any'} memory`],
      ['Environment', Object.keys(s.env ?? {}).join(', ') || '-'],
      [
        'Services',
        resolved.services.length ? `${resolved.services.length}, started in this order: ${resolved.startWaves.map((w) => w.join(' + ')).join(' → ')}` : '-',
      ],
      ['Ports', [...resolved.ports.map(portText), ...servicePorts].join(', ') || '-'],
    ];
    ctx.io.stdout.write(renderFields(fields));
  });
}
