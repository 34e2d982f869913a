// The web UI: the JavaScript a first page load fetches (as served, and compressed with gzip
// and brotli), and how long the workspace list takes to be interactive with 1,000 workspaces,
// in Debian's chromium (playwright-core). Needs `npm run build` first.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { chromium } from 'playwright-core';
import { freePort, ROOT } from './lib.mjs';

const WORKSPACES = Number(process.env.BENCH_WEB_WORKSPACES ?? 1000);
const ROUNDS = Number(process.env.BENCH_WEB_ROUNDS ?? 7);
const web = join(ROOT, 'dist/web');
if (!existsSync(join(web, 'index.html'))) throw new Error('dist/web is not built: run `npm run build` first.');

// 1. What the first load fetches: the scripts index.html names (the terminal chunk is loaded
// only when a terminal opens, and is reported on its own).
const html = readFileSync(join(web, 'index.html'), 'utf8');
const firstLoad = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]);
const sizes = (files) => {
  const bytes = files.map((f) => readFileSync(join(web, f)));
  const sum = (fn) => bytes.reduce((n, b) => n + fn(b).length, 0);
  return {
    raw: sum((b) => b),
    gzip: sum((b) => gzipSync(b, { level: 9 })),
    brotli: sum((b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } })),
  };
};
const { readdirSync } = await import('node:fs');
const terminal = readdirSync(join(web, 'assets'))
  .filter((f) => f.startsWith('terminal-view') && f.endsWith('.js'))
  .map((f) => `/assets/${f}`);
const first = sizes(firstLoad);
const term = sizes(terminal);
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log('| JavaScript | as served | gzip -9 | brotli 11 |');
console.log('| --- | ---: | ---: | ---: |');
console.log(`| first page load (${firstLoad.length} file) | ${kb(first.raw)} | ${kb(first.gzip)} | ${kb(first.brotli)} |`);
console.log(`| terminal chunk, on opening a terminal | ${kb(term.raw)} | ${kb(term.gzip)} | ${kb(term.brotli)} |`);

// 2. The list with WORKSPACES rows: a real server, rows written straight into its database.
const dataDir = await mkdtemp(join(tmpdir(), 'berth-bench-web-'));
const port = await freePort();
const child = spawn(process.execPath, [join(ROOT, 'bin/berth'), 'server', '--listen', `127.0.0.1:${port}`, '--ssh-listen', 'off', '--data-dir', dataDir], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, BERTH_LOG_LEVEL: 'warn' },
});
const url = `http://127.0.0.1:${port}`;
let browser;
try {
  for (
    let i = 0;
    i < 150 &&
    !(await fetch(`${url}/api/v1/health`).then(
      (r) => r.ok,
      () => false,
    ));
    i++
  )
    await new Promise((r) => setTimeout(r, 100));
  const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  const db = new Database(join(dataDir, 'berth.db'));
  const admin = db.prepare("SELECT id FROM users WHERE name = 'admin'").get();
  const now = new Date().toISOString();
  db.prepare("INSERT INTO nodes (id, name, credential_hash, created_at, providers_json) VALUES ('bench-node', 'bench-node', 'x', ?, '[]')").run(now);
  const insert = db.prepare(
    "INSERT INTO workspaces (id, name, owner_id, node_id, provider, image, status, cpus, memory_bytes, error_json, created_at, updated_at) VALUES (?, ?, ?, 'bench-node', 'docker', 'base', 'stopped', 1, 268435456, NULL, ?, ?)",
  );
  db.transaction(() => {
    for (let i = 0; i < WORKSPACES; i++) insert.run(randomUUID(), `ws-${String(i).padStart(4, '0')}`, admin.id, now, now);
  })();
  db.close();

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const link = await fetch(`${url}/api/v1/web/sign-in-links`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{}',
  }).then((r) => r.json());
  await page.goto(url + link.path);
  const times = [];
  for (let round = 0; round < ROUNDS; round++) {
    // From the start of navigation (performance.timeOrigin) to every row in the DOM and the
    // page answering input (a rAF after the rows land).
    await page.goto(`${url}/`);
    const ms = await page.evaluate(
      (n) =>
        new Promise((resolve) => {
          const check = () => {
            if (document.querySelectorAll('tbody tr').length >= n) requestAnimationFrame(() => resolve(performance.now()));
            else setTimeout(check, 5);
          };
          check();
        }),
      WORKSPACES,
    );
    times.push(ms);
  }
  times.sort((a, b) => a - b);
  const p50 = times[Math.floor(times.length / 2)];
  console.log(`\n| workspace list interactive, ${WORKSPACES} workspaces | p50 ${Math.round(p50)} ms | max ${Math.round(times.at(-1))} ms | n = ${ROUNDS} |`);
  console.log(
    JSON.stringify({ bench: 'web', firstLoadJs: first, terminalJs: term, listInteractiveMs: { p50, max: times.at(-1), n: ROUNDS, workspaces: WORKSPACES } }),
  );
} finally {
  await browser?.close();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await rm(dataDir, { recursive: true, force: true });
}
