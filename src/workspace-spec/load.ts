/**
 * Reading a spec file: the format from the file's name (devcontainer.json or YAML), the
 * schema check with every problem located in the file, and the resolved form with defaults.
 * Pure over the text; the CLI reads the file (find.ts) and hands it here.
 */
import { BerthError, type ProjectSpec, projectSpecSchema, type ResolvedSpec, resolveSpec, serviceGraphIssues } from '../api/index.js';
import { parseDevcontainer } from './devcontainer.js';
import { fieldName, type Locate, problemsFromZod, sortProblems, specError } from './located-error.js';
import { parseYaml } from './yaml.js';

/** The largest spec file berth reads: a spec is a page, not a data set. */
export const MAX_SPEC_BYTES = 1024 * 1024;

/** A spec file, validated. */
export interface LoadedSpec {
  file: string;
  format: 'berth' | 'devcontainer';
  spec: ProjectSpec;
  resolved: ResolvedSpec;
  warnings: string[];
}

/** Whether a file name is a devcontainer.json (`devcontainer.json`, `.devcontainer.json`, or any `*.json`). */
export function isDevcontainerFile(file: string): boolean {
  return /(^|[/\\])\.?devcontainer\.json$/.test(file) || file.endsWith('.json');
}

/** Parses and validates a spec's text; `file` names it in errors (and picks the format). */
export function loadSpecText(text: string, file: string): LoadedSpec {
  if (Buffer.byteLength(text) > MAX_SPEC_BYTES) {
    throw new BerthError('INVALID_ARGUMENT', `${file} is larger than ${MAX_SPEC_BYTES / 1024} KiB; a spec that big is not a spec. Check the file name.`, {
      field: 'spec',
    });
  }
  const format = isDevcontainerFile(file) ? 'devcontainer' : 'berth';
  let value: unknown;
  let locate: Locate;
  let warnings: string[] = [];
  if (format === 'devcontainer') {
    const parsed = parseDevcontainer(text);
    if (!parsed.ok) throw specError(file, parsed.problems);
    ({ value, locate, warnings } = parsed);
  } else {
    const parsed = parseYaml(text);
    if (!parsed.ok) throw specError(file, parsed.problems);
    ({ value, locate } = parsed);
    // An empty file is an empty spec: everything defaulted, as an empty compose file would not be, but nothing is lost.
    if (value === null || value === undefined) value = {};
  }
  const checked = projectSpecSchema.safeParse(value);
  if (!checked.success) {
    // zod skips the whole-spec checks once a field fails; run the graph's here too, so one run shows every problem.
    const problems = problemsFromZod(checked.error, locate, value);
    const seen = new Set(problems.map((p) => `${p.field}\n${p.message}`));
    const services = value !== null && typeof value === 'object' ? (value as { services?: unknown }).services : undefined;
    for (const issue of serviceGraphIssues(services)) {
      const problem = { field: fieldName(issue.path), message: issue.message, at: locate(issue.path) ?? locate(issue.path.slice(0, -1)) };
      if (!seen.has(`${problem.field}\n${problem.message}`)) problems.push(problem);
    }
    throw specError(file, sortProblems(problems));
  }
  return { file, format, spec: checked.data, resolved: resolveSpec(checked.data), warnings };
}
