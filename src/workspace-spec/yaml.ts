/**
 * berth.yaml: YAML 1.2 (so `no` is the string compose means, not false) parsed with the
 * `yaml` library, which keeps every node's place in the text. Duplicate keys and aliases past
 * a small budget (the "billion laughs") are errors, located like any other.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { Locate, SpecProblem } from './located-error.js';

/** A parsed YAML file: its value and how to find a field in it, or the syntax problems. */
export type YamlParse = { ok: true; value: unknown; locate: Locate } | { ok: false; problems: SpecProblem[] };

/** Aliases a spec may use: enough for `<<: *defaults` style sharing, far too few to blow up. */
const MAX_ALIASES = 100;

/** Parses YAML text, keeping positions. */
export function parseYaml(text: string): YamlParse {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, version: '1.2', merge: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const at = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
        return { field: '', message: firstLine(e.message), at: { line: at.line, col: at.col } };
      }),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    return { ok: false, problems: [{ field: '', message: firstLine((err as Error).message), at: null }] };
  }
  const locate: Locate = (path, opts = {}) => {
    const node = find(doc.contents as YamlNode | null, path, opts.key ?? false);
    const offset = node?.range?.[0];
    return offset === undefined ? null : lines.linePos(offset);
  };
  return { ok: true, value, locate };
}

/** The node at `path` (or the key node of its last step). */
function find(root: YamlNode | null, path: ReadonlyArray<PropertyKey>, key: boolean): YamlNode | null {
  let node: YamlNode | null = root;
  for (let i = 0; i < path.length && node; i++) {
    const step = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(step));
      if (!pair) return null;
      if (last && key) return pair.key as YamlNode;
      node = (pair.value as YamlNode | null) ?? (pair.key as YamlNode);
    } else if (isSeq(node)) {
      node = (node.items[Number(step)] as YamlNode | undefined) ?? null;
    } else {
      return null;
    }
  }
  return node;
}

function firstLine(message: string): string {
  return message
    .split('\n')[0]
    .replace(/ at line \d+, column \d+:?$/, '')
    .slice(0, 300);
}
