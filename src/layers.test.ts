/**
 * Imports flow one way (docs/architecture.md, "Source layout"): each top-level folder of src/
 * may import only the folders listed for it, and no module imports itself round a loop. Only
 * static imports count: the CLI reaches the server and agent by dynamic import in their own
 * commands, so that `berth ws ls` never loads them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = path.dirname(fileURLToPath(import.meta.url));

/** The folders each folder may import, as docs/architecture.md's table states them. */
const ALLOWED: Record<string, string[]> = {
  api: [],
  rpc: ['api'],
  client: ['api'],
  cli: ['api', 'client', 'workspace-spec'],
  'workspace-spec': ['api'],
  server: ['api', 'rpc', 'transport', 'metrics'],
  agent: ['api', 'rpc', 'providers', 'transport', 'metrics'],
  metrics: ['api'],
  providers: ['api', 'images', 'transport'],
  transport: ['api'],
  images: ['api'],
  testing: ['api', 'providers', 'transport'],
  plugin: ['api', 'providers', 'transport'],
};

/** Every source file that ships (tests excluded), relative to src/. */
function sourceFiles(): string[] {
  return readdirSync(SRC, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => f.split(path.sep).join('/'));
}

/** The files a file imports statically (import and export ... from), relative to src/. */
function staticImports(file: string): string[] {
  const text = readFileSync(path.join(SRC, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022);
  const out: string[] = [];
  for (const st of sf.statements) {
    if (!(ts.isImportDeclaration(st) || ts.isExportDeclaration(st))) continue;
    const spec = st.moduleSpecifier;
    if (!spec || !ts.isStringLiteral(spec) || !spec.text.startsWith('.')) continue;
    out.push(path.posix.normalize(path.posix.join(path.posix.dirname(file), spec.text)).replace(/\.js$/, '.ts'));
  }
  return out;
}

const graph = new Map(sourceFiles().map((f) => [f, staticImports(f)]));

describe('import layers', () => {
  it('every top-level folder is in the table', () => {
    const folders = new Set([...graph.keys()].filter((f) => f.includes('/')).map((f) => f.split('/')[0]));
    expect([...folders].filter((f) => !(f in ALLOWED))).toEqual([]);
  });

  it('each folder imports only the folders below it', () => {
    const wrong: string[] = [];
    for (const [file, imports] of graph) {
      const from = file.split('/')[0];
      for (const target of imports) {
        const to = target.split('/')[0];
        if (to !== from && !(ALLOWED[from] ?? []).includes(to)) wrong.push(`${file} imports ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('no module imports itself round a loop', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string): void => {
      state.set(file, 'open');
      stack.push(file);
      for (const next of graph.get(file) ?? []) {
        if (!graph.has(next)) continue;
        if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' → '));
        else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});
