import { build } from 'esbuild';
const r = await build({ absWorkingDir: process.cwd(), entryPoints: [process.argv[2]], bundle: true, format: 'cjs', platform: 'node', target: 'node20', minify: true, write: false, metafile: true, external: ['ssh2','cpu-features','better-sqlite3','bufferutil','utf-8-validate'], alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' }, logLevel: 'error', plugins: [{ name: 'x', setup(b) { b.onResolve({ filter: /\/(server|agent)\/main\.js$/ }, (a) => ({ path: a.path, external: true })); b.onResolve({ filter: /\/locales\/index\.js$/ }, (a) => a.importer.includes('zod/') ? { path: 'zl', namespace: 'zl' } : undefined); b.onLoad({ filter: /.*/, namespace: 'zl' }, () => ({ contents: 'export const en = {}' })); } }] });
const out = Object.values(r.metafile.outputs)[0];
const groups = {};
for (const [p, v] of Object.entries(out.inputs)) { const g = p.startsWith('node_modules') ? p.split('/').slice(0, 2).join('/') : p; groups[g] = (groups[g] ?? 0) + v.bytesInOutput; }
console.log('total', out.bytes);
for (const [g, b] of Object.entries(groups).sort((a, b) => b[1] - a[1]).slice(0, +process.argv[3] || 40)) console.log(String(b).padStart(8), g);
