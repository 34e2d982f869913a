/**
 * `.devcontainer/devcontainer.json` (JSON with comments and trailing commas) read as a berth
 * spec. The keys berth understands are translated (image, containerEnv, remoteEnv,
 * forwardPorts, portsAttributes, otherPortsAttributes, postCreateCommand, postStartCommand,
 * remoteUser, workspaceFolder, hostRequirements, name); every other key, and every value berth
 * cannot honour, is named in a warning — never dropped silently.
 */
import { findNodeAtLocation, getNodeValue, type Node as JsonNode, type ParseError, parseTree, printParseErrorCode } from 'jsonc-parser';
import { z } from 'zod';
import { NAME_PATTERN } from '../api/index.js';
import { fieldName, type Locate, type Position, problemsFromZod, type SpecProblem } from './located-error.js';

/** A translated devcontainer.json: the spec input, how to find a spec field in the file, and the warnings. */
export type DevcontainerParse = { ok: true; value: Record<string, unknown>; locate: Locate; warnings: string[] } | { ok: false; problems: SpecProblem[] };

const str = z.string().max(128 * 1024);
const command = z.union([str, z.array(str).max(256), z.record(z.string().max(64), z.union([str, z.array(str).max(256)]))]);
const portAttributes = z.looseObject({
  label: str.optional(),
  protocol: z.enum(['http', 'https']).optional(),
  onAutoForward: z.enum(['notify', 'openBrowser', 'openBrowserOnce', 'openPreview', 'silent', 'ignore']).optional(),
});

/** The part of devcontainer.json berth reads; other keys pass through to become warnings. */
const devcontainerSchema = z.looseObject({
  name: str.optional(),
  image: str.optional(),
  containerEnv: z.record(str, str).optional(),
  remoteEnv: z.record(str, z.union([str, z.null()])).optional(),
  forwardPorts: z
    .array(z.union([z.number(), str]))
    .max(256)
    .optional(),
  portsAttributes: z.record(str, portAttributes).optional(),
  otherPortsAttributes: portAttributes.optional(),
  postCreateCommand: command.optional(),
  postStartCommand: command.optional(),
  remoteUser: str.optional(),
  workspaceFolder: str.optional(),
  hostRequirements: z.looseObject({ cpus: z.number().optional(), memory: str.optional(), storage: str.optional(), gpu: z.unknown().optional() }).optional(),
});

/** Keys read above. */
const READ = new Set(Object.keys(devcontainerSchema.shape));
const AUTO_FORWARD = {
  notify: 'notify',
  openBrowser: 'open-browser',
  openBrowserOnce: 'open-browser',
  openPreview: 'open-preview',
  silent: 'silent',
  ignore: 'ignore',
} as const;

/** Parses devcontainer.json text and translates it. */
export function parseDevcontainer(text: string): DevcontainerParse {
  const lines = lineStarts(text);
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0 || !root) {
    const problems = errors.map((e) => ({ field: '', message: `JSON syntax: ${printParseErrorCode(e.error)}`, at: position(lines, e.offset) }));
    return { ok: false, problems: problems.length ? problems : [{ field: '', message: 'the file holds no JSON object', at: null }] };
  }
  // A plain-prototype copy: jsonc-parser builds null-prototype objects.
  const raw: unknown = JSON.parse(JSON.stringify(getNodeValue(root)));
  const locateIn: Locate = (path, opts = {}) => {
    const node = findNodeAtLocation(
      root,
      path.map((p) => (typeof p === 'number' ? p : String(p))),
    );
    const target: JsonNode | undefined = opts.key && node?.parent?.type === 'property' ? node.parent.children?.[0] : node;
    return target ? position(lines, target.offset) : null;
  };
  const parsed = devcontainerSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, problems: problemsFromZod(parsed.error, locateIn, raw) };
  const dc = parsed.data;
  const warnings: string[] = [];
  // Where each translated spec field came from, so spec errors point into devcontainer.json.
  const origin = new Map<string, PropertyKey[]>();
  const spec: Record<string, unknown> = {};
  const from = (specPath: PropertyKey[], dcPath: PropertyKey[]) => origin.set(fieldName(specPath), dcPath);

  for (const key of Object.keys(dc)) {
    if (!READ.has(key)) warnings.push(`devcontainer.json: ${key} is not supported by berth and was ignored`);
  }
  if (dc.name !== undefined) {
    // devcontainer names are titles ("Node.js & TypeScript"); the workspace name is their slug.
    const name = slug(dc.name);
    if (NAME_PATTERN.test(name)) {
      spec.name = name;
      from(['name'], ['name']);
    } else {
      warnings.push(`devcontainer.json: name ${JSON.stringify(dc.name.slice(0, 64))} gives no usable workspace name; name the workspace on the command line`);
    }
  }
  if (dc.image !== undefined) {
    spec.image = dc.image;
    from(['image'], ['image']);
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(dc.containerEnv ?? {})) {
    env[k] = v;
    from(['env', k], ['containerEnv', k]);
  }
  for (const [k, v] of Object.entries(dc.remoteEnv ?? {})) {
    // remoteEnv applies to the tools' sessions; berth has one environment for the workspace, which sessions inherit.
    if (v === null) delete env[k];
    else env[k] = v;
    from(['env', k], ['remoteEnv', k]);
  }
  for (const [k, v] of Object.entries(env)) {
    if (/\$\{[a-zA-Z]+:?[^}]*\}/.test(v))
      warnings.push(`devcontainer.json: env ${k} uses a \${...} variable, which berth does not substitute; it is set as written`);
  }
  if (Object.keys(env).length > 0) spec.env = env;

  const ports = translatePorts(dc, from, warnings);
  if (ports.length > 0) spec.ports = ports;

  const hooks: Record<string, unknown> = {};
  if (dc.postCreateCommand !== undefined) {
    hooks.post_create = dc.postCreateCommand;
    from(['hooks', 'post_create'], ['postCreateCommand']);
  }
  if (dc.postStartCommand !== undefined) {
    hooks.post_start = dc.postStartCommand;
    from(['hooks', 'post_start'], ['postStartCommand']);
  }
  if (Object.keys(hooks).length > 0) spec.hooks = hooks;
  if (dc.remoteUser !== undefined) {
    spec.user = dc.remoteUser;
    from(['user'], ['remoteUser']);
  }
  if (dc.workspaceFolder !== undefined) {
    spec.workdir = dc.workspaceFolder;
    from(['workdir'], ['workspaceFolder']);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the message names devcontainer's own ${...} syntax
    if (dc.workspaceFolder.includes('${')) warnings.push('devcontainer.json: workspaceFolder uses a ${...} variable, which berth does not substitute');
  }
  const hr = dc.hostRequirements;
  if (hr?.cpus !== undefined) {
    spec.cpus = hr.cpus;
    from(['cpus'], ['hostRequirements', 'cpus']);
  }
  if (hr?.memory !== undefined) {
    spec.memory = hr.memory;
    from(['memory'], ['hostRequirements', 'memory']);
  }
  for (const key of Object.keys(hr ?? {})) {
    if (key !== 'cpus' && key !== 'memory') warnings.push(`devcontainer.json: hostRequirements.${key} is not supported by berth and was ignored`);
  }
  const locate: Locate = (path, opts) => {
    // The longest translated prefix of the spec path names the devcontainer field.
    for (let n = path.length; n > 0; n--) {
      const dcPath = origin.get(fieldName(path.slice(0, n)));
      if (dcPath) return locateIn([...dcPath, ...path.slice(n)], opts) ?? locateIn(dcPath, opts);
    }
    return null;
  };
  return { ok: true, value: spec, locate, warnings };
}

/** forwardPorts with their portsAttributes (single ports and `FROM-TO` ranges); otherPortsAttributes as the default. */
function translatePorts(dc: z.infer<typeof devcontainerSchema>, from: (s: PropertyKey[], d: PropertyKey[]) => void, warnings: string[]): unknown[] {
  const attributesFor = (port: number) => {
    for (const [key, attrs] of Object.entries(dc.portsAttributes ?? {})) {
      const range = /^(\d+)(?:-(\d+))?$/.exec(key);
      if (range && port >= Number(range[1]) && port <= Number(range[2] ?? range[1])) return attrs;
    }
    return dc.otherPortsAttributes;
  };
  for (const key of Object.keys(dc.portsAttributes ?? {})) {
    if (!/^(\d+)(?:-(\d+))?$/.test(key))
      warnings.push(`devcontainer.json: portsAttributes "${key.slice(0, 64)}" is not a port or a port range; berth ignored it`);
  }
  const out: unknown[] = [];
  (dc.forwardPorts ?? []).forEach((p, i) => {
    let port: unknown = p;
    if (typeof p === 'string') {
      const m = /^(?:localhost|127\.0\.0\.1):(\d+)$/.exec(p);
      if (!m) {
        warnings.push(`devcontainer.json: forwardPorts "${p.slice(0, 64)}" names another host; berth forwards only the workspace's own ports, and ignored it`);
        return;
      }
      port = Number(m[1]);
    }
    const attrs = typeof port === 'number' ? attributesFor(port) : undefined;
    if (attrs?.protocol) warnings.push(`devcontainer.json: portsAttributes protocol ${attrs.protocol} for port ${String(port)} is not used by berth yet`);
    const entry: Record<string, unknown> = { port };
    if (attrs?.label !== undefined) entry.label = attrs.label;
    if (attrs?.onAutoForward !== undefined) entry.on_auto_forward = AUTO_FORWARD[attrs.onAutoForward];
    from(['ports', out.length], ['forwardPorts', i]);
    out.push(entry);
  });
  return out;
}

/** "Node.js & TypeScript" → "node-js-typescript". */
function slug(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function position(starts: number[], offset: number): Position {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, col: offset - starts[lo] + 1 };
}
