// Bundles the CLI with esbuild into dist/bundle/: a small minified entry (berth.js) plus one
// chunk per command, loaded only when that command runs. The server and the agent stay the
// TypeScript compiler's output in dist/ (they are loaded by their commands from there), and
// packages with native parts stay in node_modules. Run after `tsc` (npm run build does both).

import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/bundle');

/** Leaves `../../server/main.js` and `../../agent/main.js` to the compiler's output next to the bundle. */
const serverAndAgentFromDist = {
  name: 'server-and-agent-from-dist',
  setup(b) {
    b.onResolve({ filter: /\/(server|agent)\/main\.js$/ }, (args) => {
      const which = args.path.includes('/server/') ? 'server' : 'agent';
      return { path: `../${which}/main.js`, external: true };
    });
  },
};

/**
 * zod's namespace object re-exports all of its ~40 message locales, which no bundler can drop
 * and berth never uses (its messages are English); only English is kept.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${'node_modules'}/zod/`) ? { path: join(dirname(args.importer), args.path), namespace: 'zod-locales' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(join(dirname(args.path), 'en.js'))};`,
      resolveDir: dirname(args.path),
    }));
  },
};

await rm(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { berth: 'src/cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  sourcemap: 'linked',
  // ssh2 has optional native parts; it is only loaded by `berth ssh-key generate`.
  external: ['ssh2', 'cpu-features', 'better-sqlite3'],
  plugins: [serverAndAgentFromDist, zodEnglishOnly],
  // jsonc-parser's main entry is a UMD build whose require() calls esbuild cannot follow; its ES module build bundles cleanly.
  alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
  // Bundled CommonJS packages (commander, ws) call require() for Node's modules.
  banner: { js: "import{createRequire as __berthRequire}from'node:module';const require=__berthRequire(import.meta.url);" },
  metafile: true,
  logLevel: 'warning',
});
// A package that would drag server or provider code into user commands shows up here.
const inputs = Object.keys(result.metafile.inputs);
const leaked = inputs.filter(
  (p) => /^src\/(server|agent|providers|transport|images)\//.test(p) || /node_modules\/(fastify|dockerode|better-sqlite3|pino)\//.test(p),
);
if (leaked.length) {
  console.error(`The CLI bundle includes server, agent or provider code it must load lazily:\n  ${leaked.slice(0, 10).join('\n  ')}`);
  process.exit(1);
}

// The agent as one file (dist/agent-bundle/berth-agent.mjs, with its source map) for machines
// that have only Node: `berth node add` copies it there. Everything it needs is inside, except
// what is optional and native: ssh2's compiled crypto binding and cpu-features (ssh2 falls
// back to Node's crypto without them). better-sqlite3 is the server's; it must not appear.
const agentOutdir = join(root, 'dist/agent-bundle');
await rm(agentOutdir, { recursive: true, force: true });
/** ssh2 requires its optional compiled binding inside a try; left out, the require fails and ssh2 uses its JavaScript paths. */
const optionalNative = {
  name: 'optional-native',
  setup(b) {
    b.onResolve({ filter: /\.node$/ }, (args) => ({ path: args.path, external: true }));
  },
};
const agent = await build({
  absWorkingDir: root,
  entryPoints: { 'berth-agent': 'src/cli/agent-main.ts' },
  outdir: agentOutdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  sourcemap: 'linked',
  external: ['cpu-features'],
  plugins: [zodEnglishOnly, optionalNative],
  // Bundled CommonJS packages (ssh2, docker-modem, ...) call require() and read __dirname.
  banner: {
    js: "import{createRequire as __berthRequire}from'node:module';import{fileURLToPath as __berthPath}from'node:url';import{dirname as __berthDir}from'node:path';const require=__berthRequire(import.meta.url);const __filename=__berthPath(import.meta.url);const __dirname=__berthDir(__filename);",
  },
  metafile: true,
  logLevel: 'warning',
});
const agentInputs = Object.keys(agent.metafile.inputs);
const notForAgent = agentInputs.filter((p) => /^src\/server\//.test(p) || /node_modules\/(better-sqlite3|fastify|@fastify|kysely)\//.test(p));
if (notForAgent.length) {
  console.error(`The agent bundle includes server code or a native module it must not need:\n  ${notForAgent.slice(0, 10).join('\n  ')}`);
  process.exit(1);
}
