// Keystroke echo in the browser terminal against `berth ws exec -t`, in one run, interleaved:
// a key typed into xterm.js (Debian's chromium) until its echo is on screen, and a byte
// written to `berth ws exec -t NAME -- sh` (under `script`, for a tty) until its echo is
// read back. Both go through the same exec WebSocket and agent session path.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { percentile, ROOT, report, run, startServer } from './lib.mjs';

const ROUNDS = Number(process.env.BENCH_WEB_KEYS ?? 40);

/** Waits until `ok()` (checking every turn of the event loop when `tight`), or fails after 10 s saying what it saw. */
async function until(what, ok, seen, tight = false) {
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; saw: ${JSON.stringify(seen())}`);
    await new Promise((r) => (tight ? setImmediate(r) : setTimeout(r, 50)));
  }
}
const server = await startServer();
const env = { ...process.env, BERTH_SERVER: server.url, BERTH_TOKEN: server.token, BERTH_CONFIG: '/nonexistent-berth-config.json' };
const berth = (args) => run(process.execPath, [join(ROOT, 'bin/berth'), ...args], { env });
const name = `bench-term-${Date.now().toString(36)}`;
let browser;
let cli;
try {
  for (let i = 0; i < 100; i++) {
    const { stdout } = await berth(['node', 'ls', '--json']);
    if (JSON.parse(stdout).nodes.some((n) => n.status === 'online')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await berth(['image', 'build', 'base', '--from', 'busybox']);
  await berth(['ws', 'create', name, '--image', 'base']);

  // The browser terminal.
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  // Splits the browser's figure: the time of every WebSocket message reaching the page, so the
  // transport (keydown → echo bytes at the page) is timed apart from drawing them.
  await page.addInitScript(() => {
    window.__wsAt = [];
    // Animation frames asked for and run, to split the drawing: waiting for a frame, or for something else.
    window.__raf = [];
    const nativeRaf = window.requestAnimationFrame.bind(window);
    window.requestAnimationFrame = (cb) => {
      const asked = performance.now();
      return nativeRaf((t) => {
        window.__raf.push({ asked, ran: performance.now() });
        cb(t);
      });
    };
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        // The time and the printed text of every output frame (the echo is the one holding the key).
        this.addEventListener('message', (ev) => {
          let text = '';
          try {
            const f = JSON.parse(ev.data);
            if (f.type === 'stdout') text = atob(f.data);
          } catch {}
          window.__wsAt.push({ at: performance.now(), text });
        });
      }
    };
  });
  const link = await fetch(`${server.url}/api/v1/web/sign-in-links`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: '{}',
  }).then((r) => r.json());
  await page.goto(server.url + link.path);
  await page.goto(`${server.url}/workspaces/${name}/terminal`);
  const rows = page.locator('.xterm-rows').first();
  await rows.waitFor();
  await page.waitForFunction(() => /[#$]/.test(document.querySelector('.xterm-rows')?.textContent ?? ''));
  await page.locator('.term').first().click();

  // The CLI terminal: `script` gives `berth ws exec -t` a pty of its own.
  cli = spawn('script', ['-qfc', `${process.execPath} ${join(ROOT, 'bin/berth')} ws exec -t ${name} -- sh`, '/dev/null'], {
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let cliOut = '';
  cli.stdout.on('data', (d) => (cliOut += d));
  await until(
    'the CLI shell prompt',
    () => /[#$]/.test(cliOut),
    () => cliOut,
  );

  const browserMs = [];
  const arrivedMs = [];
  const cliMs = [];
  for (let i = 0; i < ROUNDS; i++) {
    const key = String.fromCharCode(97 + (i % 26));
    // Browser: from the keydown reaching the page to the character on screen, timed in the page.
    // The watch is set up (and confirmed) before the key is sent: input events and evaluations
    // reach the page by different paths, so the key could otherwise arrive first.
    await page.evaluate((key) => {
      window.__echo = new Promise((resolve) => {
        const el = document.querySelector('.xterm-rows');
        // The echo adds one printed character to the screen.
        const count = () => el.textContent.replace(/\s/g, '').length;
        const before = count();
        let t0 = 0;
        document.addEventListener('keydown', () => (t0 = performance.now()), { capture: true, once: true });
        const obs = new MutationObserver(() => {
          if (t0 && count() > before) {
            obs.disconnect();
            const painted = performance.now();
            const arrived = window.__wsAt.find((m) => m.at >= t0 && m.text.includes(key))?.at ?? painted;
            const frame = window.__raf.find((f) => f.asked >= arrived && f.ran <= painted);
            resolve({ painted: painted - t0, arrived: arrived - t0, asked: frame ? frame.asked - t0 : NaN, ran: frame ? frame.ran - t0 : NaN });
          }
        });
        obs.observe(el, { childList: true, subtree: true, characterData: true });
      });
    }, key);
    await page.keyboard.press(key);
    const echo = await Promise.race([
      page.evaluate(() => window.__echo),
      new Promise((_, rej) => setTimeout(() => rej(new Error(`no echo of ${key} in the browser terminal`)), 10_000)),
    ]);
    browserMs.push(echo.painted);
    arrivedMs.push(echo.arrived);
    if (process.env.BENCH_WEB_TRACE)
      console.error(
        `echo ${key}: bytes at the page ${echo.arrived.toFixed(1)} ms, frame asked ${echo.asked.toFixed(1)}, frame ran ${echo.ran.toFixed(1)}, on screen ${echo.painted.toFixed(1)}`,
      );
    // CLI: from the write to the echoed byte.
    const seen = cliOut.length;
    const t0 = performance.now();
    cli.stdin.write(key);
    await until(
      `the CLI echo of ${key}`,
      () => cliOut.slice(seen).includes(key),
      () => cliOut.slice(-300),
      true,
    );
    cliMs.push(performance.now() - t0);
  }
  const figures = report(
    `keystroke echo, n = ${ROUNDS}`,
    { 'berth ws exec -t': cliMs, 'browser: echo bytes at the page': arrivedMs, 'browser: echo on screen': browserMs },
    'berth ws exec -t',
  );
  console.log(
    JSON.stringify({
      bench: 'web-terminal',
      ...figures,
      ratio: percentile(browserMs, 50) / percentile(cliMs, 50),
      transportRatio: percentile(arrivedMs, 50) / percentile(cliMs, 50),
    }),
  );
} finally {
  cli?.kill('SIGKILL');
  await browser?.close();
  await berth(['ws', 'rm', name]).catch(() => {});
  await server.stop();
}
