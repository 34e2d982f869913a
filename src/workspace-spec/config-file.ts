/**
 * One configuration file (docs/config.md): a YAML document holding one resource, `kind:`,
 * `name:` and `spec:`, checked against the API's schema with every problem located at
 * file:line:column and named by field, as berth.yaml's are. Pure over the text; the CLI reads
 * the folder and hands each file here.
 */
import { stringify } from 'yaml';
import { BerthError, type ConfigResource, configResourceSchema } from '../api/index.js';
import { problemsFromZod, specError } from './located-error.js';
import { parseYaml } from './yaml.js';

/** The largest config file berth reads: one resource is a page at most. */
export const MAX_CONFIG_FILE_BYTES = 256 * 1024;

/** Parses and validates one config file's text; `file` names it in errors. */
export function parseConfigText(text: string, file: string): ConfigResource {
  if (Buffer.byteLength(text) > MAX_CONFIG_FILE_BYTES) {
    throw new BerthError('INVALID_ARGUMENT', `${file} is larger than ${MAX_CONFIG_FILE_BYTES / 1024} KiB; a config file holds one resource. Split it.`, {
      field: 'file',
    });
  }
  const parsed = parseYaml(text);
  if (!parsed.ok) throw specError(file, parsed.problems);
  const value = parsed.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw specError(file, [
      { field: 'kind', message: 'a config file holds one mapping with kind, name and spec', at: parsed.locate([]) ?? { line: 1, col: 1 } },
    ]);
  }
  const checked = configResourceSchema.safeParse(value);
  if (!checked.success) throw specError(file, problemsFromZod(checked.error, parsed.locate, value));
  return checked.data;
}

/** A resource as pull writes it: kind, name, spec, in that order. */
export function configToText(r: ConfigResource): string {
  return stringify({ kind: r.kind, name: r.name, spec: r.spec }, { version: '1.2', lineWidth: 0 });
}

/** The path inside a config folder a resource is written to. */
export function configFilePath(r: { kind: string; name: string }): string {
  switch (r.kind) {
    case 'ServerSettings':
      return 'server.yaml';
    case 'Node':
      return `nodes/${r.name}.yaml`;
    case 'WorkspaceTemplate':
      return `templates/${r.name}.yaml`;
    case 'TeamQuota':
      return `team-quotas/${r.name}.yaml`;
    case 'ImageRecipe':
      return `images/${r.name}.yaml`;
    default:
      return `quotas/${r.name}.yaml`;
  }
}
