// Builds the CLI's V8 startup snapshot (dist/snapshot/): the user commands bundled by esbuild
// into one CommonJS file, run once by `node --build-snapshot`, and the heap it leaves saved as
// berth.blob. bin/berth starts user commands from it, so Node's start-up is nearly all a
// command pays before it runs (see src/cli/entry/snapshot.ts and docs/performance.md).
//
// The blob only works with the Node binary that built it, so the build records that binary's
// path next to it (node.path) and bin/berth uses the blob only when it would run the same one
// and the blob is newer than it. When this Node cannot build a snapshot, the build says so and
// leaves no blob: bin/berth then runs the bundled ES modules, just more slowly.

import { spawnSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/snapshot');

// Node 20's snapshot builder cannot load these (their state does not survive the snapshot), so
// in the bundle each becomes a stand-in that loads the real module on first use, at run time.
const NOT_SNAPSHOTTABLE = ['http', 'https', 'tls', 'child_process', 'http2', 'dgram', 'worker_threads', 'inspector'];
// Packages with native parts stay outside the bundle; the snapshot's own require() only knows
// Node's modules, so they are required relative to bin/berth (argv[1]) when first used.
const OUTSIDE = ['ssh2', 'cpu-features', 'better-sqlite3'];

/** A module whose exports stand in for what `load` (an expression) returns, evaluated on first use. */
function lazyModule(load) {
  return `let real; const load = () => (real ??= ${load});
    module.exports = new Proxy({}, {
      get: (_, key) => load()[key],
      has: (_, key) => key in load(),
      ownKeys: () => Reflect.ownKeys(load()),
      getOwnPropertyDescriptor: (_, key) => ({ ...Reflect.getOwnPropertyDescriptor(load(), key), configurable: true }),
    });`;
}

const runtimeModules = {
  name: 'runtime-modules',
  setup(b) {
    const builtins = new RegExp(`^(node:)?(${NOT_SNAPSHOTTABLE.join('|')})$`);
    b.onResolve({ filter: builtins }, (args) =>
      args.namespace === 'lazy-builtin' ? { path: args.path, external: true } : { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' },
    );
    // A snapshot has no dynamic import(): any of Node's modules a command imports dynamically
    // (to load it only when needed) becomes a lazy stand-in as well, required at run time.
    b.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === 'dynamic-import' && args.namespace !== 'lazy-builtin' ? { path: args.path.slice(5), namespace: 'lazy-builtin' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      contents: lazyModule(`require(${JSON.stringify('node:' + args.path)})`),
      loader: 'js',
    }));
    const outside = new RegExp(`^(${OUTSIDE.join('|')})(/.*)?$`);
    b.onResolve({ filter: outside }, (args) => ({ path: args.path, namespace: 'outside-package' }));
    b.onLoad({ filter: /.*/, namespace: 'outside-package' }, (args) => ({
      contents: lazyModule(`require('node:module').createRequire(process.argv[1])(${JSON.stringify(args.path)})`),
      loader: 'js',
    }));
    // The server and the agent never start from the snapshot: bin/berth runs them from the ES
    // modules. Should anything route them here anyway, it says so instead of half-working.
    b.onResolve({ filter: /\/(server|agent)\/main\.js$/ }, () => ({ path: 'long-running', namespace: 'not-in-snapshot' }));
    b.onLoad({ filter: /.*/, namespace: 'not-in-snapshot' }, () => ({
      contents: `throw new Error('berth server and berth agent run from the ES-module bundle: start them with bin/berth or node bin/berth');`,
      loader: 'js',
    }));
  },
};

/**
 * ws reads two optional fast paths (websocketMask, websocketUnmask) from node:http when its
 * buffer-util module loads; that would load node:http while the snapshot is built, which Node
 * cannot do. The Node versions berth supports without them (20) get ws's own JavaScript
 * masking either way, so in the snapshot the lookup finds nothing and ws's modules can be
 * evaluated at build time instead of in every `berth ws exec`.
 */
const wsWithoutHttpFastPaths = {
  name: 'ws-without-http-fast-paths',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]ws[\\/]lib[\\/]buffer-util\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const line = "const { websocketMask, websocketUnmask } = require('http');";
      if (!source.includes(line)) throw new Error(`ws's buffer-util no longer reads ${line}: check scripts/cli-snapshot.mjs against this ws version`);
      return { contents: source.replace(line, 'const websocketMask = undefined, websocketUnmask = undefined;'), loader: 'js' };
    });
  },
};

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
const bundle = join(outdir, 'berth-cli.cjs');
const result = await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/entry/snapshot.ts'],
  outfile: bundle,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  plugins: [runtimeModules, wsWithoutHttpFastPaths],
  // jsonc-parser's main entry is a UMD build whose require() calls esbuild cannot follow; its ES module build bundles cleanly.
  alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
  metafile: true,
  logLevel: 'warning',
  // ws asks for two optional native helpers inside try/catch; without them it uses plain JS.
  external: ['bufferutil', 'utf-8-validate'],
});
const leaked = Object.keys(result.metafile.inputs).filter((p) => /^src\/(server|agent|providers|transport|images)\//.test(p));
if (leaked.length) {
  console.error(`The CLI snapshot includes server, agent or provider code:\n  ${leaked.slice(0, 10).join('\n  ')}`);
  process.exit(1);
}

// A snapshot cannot run a dynamic import(): one left in the bundle would fail only when its
// command runs, so the build fails now instead.
const dynamicImport = (await readFile(bundle, 'utf8')).match(/\bimport\((["'`][^"'`]*["'`])?/);
if (dynamicImport) {
  console.error(`The CLI snapshot bundle still has a dynamic import (${dynamicImport[0]}…); load it with a static import or route it through runtimeModules.`);
  process.exit(1);
}

const blob = join(outdir, 'berth.blob');
const made = spawnSync(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', bundle], { cwd: root, encoding: 'utf8' });
if (made.status !== 0) {
  await rm(blob, { force: true });
  // A Node without a working snapshot builder is not an error: berth runs, only slower.
  console.warn(
    `note: this Node (${process.version}) could not build the CLI snapshot, so bin/berth will load the ES modules instead:\n${(made.stderr || made.stdout || '').trim().slice(0, 2000)}`,
  );
} else {
  await writeFile(join(outdir, 'node.path'), `${process.execPath}\n`);
  // bin/berth may hold NODE_EXTRA_CA_CERTS back from Node's start-up only where the CLI can
  // rebuild Node's default trust from its bundled roots (src/client/extra-ca.ts): not for a
  // Node built to use OpenSSL's own store.
  if (!process.config.variables.openssl_use_def_ca_store) await writeFile(join(outdir, 'defer-extra-ca'), '');
}
