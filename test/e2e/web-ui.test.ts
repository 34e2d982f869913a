/**
 * The web UI in a real browser (Debian's chromium via playwright-core) against a real server
 * with its local agent and Docker: sign in with a `berth ui` link, create a workspace and see
 * it go from creating to running, type into its terminal and see the shell answer (and the
 * same shell, its output replayed, after a reload), OSC 52 copy, stop and start it from the
 * page; a member sees none of it, not even by URL; a port's preview opens from the page and the
 * page it serves cannot use the viewer's session; sign-out ends the session on the server. Screenshots of the main pages at 360 and 1280 px go to a directory
 * the test prints.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer, uniqueName } from './harness.js';
import { launchChromium } from './web/browser.js';

let server: TestServer;
let browser: Browser;
let shots: string;
let bobToken: string;
let carolToken: string;
const name = uniqueName('webui');
/** Bob's workspace, created from a spec with services. */
const bobWs = uniqueName('webbob');
let bob: { ctx: BrowserContext; page: Page };

/** A sign-in link minted by `berth ui --json` with this token. */
async function signInLink(token: string): Promise<string> {
  const r = await server.cli(['ui', '--json'], { env: { BERTH_TOKEN: token } });
  expect(r.code, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out.url).toMatch(/\/sign-in\?token=blink_/);
  return out.url as string;
}

/** Signs a new browser context in with a link; returns its page on /. */
async function signedIn(token: string, width = 1280): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: { width, height: 900 } });
  // For OSC 52: the page may write the clipboard; the test reads it back.
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  const page = await ctx.newPage();
  await page.goto(await signInLink(token));
  await page.waitForURL(`${server.url}/`);
  await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
  return { ctx, page };
}

/** Saves the page at 360 and 1280 px. */
async function screenshot(page: Page, label: string): Promise<void> {
  for (const width of [360, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: join(shots, `${label}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

/**
 * Web UI previews: a page a workspace serves that tries to use the viewer's berth session
 * (path mode shares berth's origin). It writes what each attempt got into #out as JSON.
 */
const PROBE_HTML = `<!doctype html><title>probe</title><pre id="out">running</pre><script>
(async () => {
  const r = {};
  const s = await fetch('/api/v1/session');
  r.session = s.status;
  // Whatever CSRF value it can get, it uses, as a real attacker would.
  const csrf = /"csrf":"([^"]+)"/.exec(await s.text())?.[1];
  r.sessionCsrf = !!csrf;
  r.pageCsrf = (await (await fetch('/')).text()).includes('berth-csrf');
  const headers = csrf ? { 'content-type': 'application/json', 'x-berth-csrf': csrf } : { 'content-type': 'application/json' };
  const p = await fetch('/api/v1/tokens', { method: 'POST', headers, body: '{"name":"stolen"}' });
  r.post = p.status;
  r.socket = await new Promise((done) => {
    const ws = new WebSocket('ws://' + location.host + '/api/v1/workspaces/WORKSPACE/exec' + (csrf ? '?berth_csrf=' + csrf : ''));
    ws.onopen = () => done('open');
    ws.onerror = () => done('refused');
    setTimeout(() => done('timeout'), 10000);
  });
  const w = window.open('/');
  await new Promise((t) => setTimeout(t, 3000));
  try {
    r.opened = !w ? 'no-window' : w.closed ? 'severed' : w.document.querySelector('meta[name="berth-csrf"]') ? 'read' : 'no-value';
  } catch (e) {
    r.opened = 'blocked';
  }
  document.getElementById('out').textContent = JSON.stringify(r);
})();
</script>`;

/** The status shown in the workspace's row on the list page. */
const rowStatus = (page: Page) => page.locator(`tr[data-workspace="${name}"] .status`);

beforeAll(async () => {
  shots = await mkdtemp(join(tmpdir(), 'berth-web-screenshots-'));
  console.log(`web UI screenshots: ${shots}`);
  browser = await launchChromium();
  // The agent holds each create for a few seconds, so the page can be seen showing `creating`.
  server = await TestServer.start({ localAgent: true, env: { BERTH_AGENT_CREATE_HOLD_MS: '4000' } });
  await server.waitNodeOnline();
  const build = await server.cli(['image', 'build', 'base', '--from', 'busybox']);
  expect(build.code, build.stderr).toBe(0);
  const invite = await server.json<any>(['user', 'invite', 'bob@example.com']);
  const reg = await fetch(`${server.url}/api/v1/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ invite: invite.code, name: 'bob' }),
  });
  expect(reg.status).toBe(201);
  bobToken = ((await reg.json()) as { token: string }).token;
  // Web UI previews: another member, with whom bob's workspace is not shared.
  const carolInvite = await server.json<any>(['user', 'invite', 'carol@example.com']);
  const carolReg = await fetch(`${server.url}/api/v1/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ invite: carolInvite.code, name: 'carol' }),
  });
  expect(carolReg.status).toBe(201);
  carolToken = ((await carolReg.json()) as { token: string }).token;
});

afterAll(async () => {
  await browser?.close();
  await server?.destroy();
});

let admin: { ctx: BrowserContext; page: Page };

describe('the web UI in chromium', () => {
  it('signs in with a one-time link into an HTTP-only cookie, the token gone from the address bar', async () => {
    admin = await signedIn(server.token);
    expect(admin.page.url()).toBe(`${server.url}/`);
    const cookies = await admin.ctx.cookies();
    expect(cookies.find((c) => c.name === 'berth_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    await expect(admin.page.getByText('admin (admin)')).toBeTruthy();
  });

  it('creates a Docker workspace and shows it go from creating to running', async () => {
    const { page } = admin;
    await page.getByRole('button', { name: 'New workspace' }).click();
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Image').fill('base');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await expect.poll(() => rowStatus(page).textContent(), { timeout: 10_000 }).toBe('creating');
    // The form follows the operation and opens the workspace's page once it runs.
    await page.waitForURL(`${server.url}/workspaces/${name}`, { timeout: 120_000 });
    await expect.poll(() => page.locator('.facts .status').textContent(), { timeout: 30_000 }).toBe('running');
    await expect.poll(async () => page.getByLabel('SSH', { exact: true }).inputValue()).toBe(`ssh ${name}.berth`);
    await screenshot(page, 'workspace');
    await page.goto(`${server.url}/`);
    await expect.poll(() => rowStatus(page).textContent()).toBe('running');
    await screenshot(page, 'workspaces');
  });

  it('opens a terminal in the workspace and runs what is typed', async () => {
    const { page } = admin;
    await page.goto(`${server.url}/workspaces/${name}`);
    await page.getByRole('link', { name: 'Open terminal' }).click();
    const rows = page.locator('.xterm-rows').first();
    await rows.waitFor({ timeout: 20_000 });
    await expect.poll(async () => (await rows.textContent()) ?? '', { timeout: 20_000 }).toMatch(/[#$]/);
    await page.locator('.term').first().click();
    await page.keyboard.type('echo hello-$RANDOM\n');
    await expect.poll(async () => (await rows.textContent()) ?? '', { timeout: 15_000 }).toMatch(/hello-\d+/);
    // The shell outlives a reload: the same process, its earlier output replayed.
    await page.keyboard.type('echo pid-$$\n');
    await expect.poll(async () => (await rows.textContent()) ?? '', { timeout: 15_000 }).toMatch(/pid-\d+/);
    const before = (await rows.textContent())!;
    const pid = /pid-(\d+)/.exec(before)![1];
    const hello = /hello-\d+/.exec(before)![0];
    await page.reload();
    const again = page.locator('.xterm-rows').first();
    await again.waitFor({ timeout: 20_000 });
    await expect.poll(async () => (await again.textContent()) ?? '', { timeout: 20_000 }).toContain(hello);
    await page.locator('.term').first().click();
    await page.keyboard.type('echo again-$$\n');
    await expect.poll(async () => (await again.textContent()) ?? '', { timeout: 15_000 }).toContain(`again-${pid}`);
    // OSC 52 from the shell lands on the browser's clipboard.
    const copied = `copied-${Date.now()}`;
    await page.keyboard.type(`printf '\\033]52;c;${Buffer.from(copied).toString('base64')}\\007'\n`);
    await expect.poll(() => page.evaluate('navigator.clipboard.readText()'), { timeout: 10_000 }).toBe(copied);
    // A second tab is a second shell.
    await page.getByRole('button', { name: 'New terminal tab' }).click();
    await expect.poll(() => page.locator('.xterm-rows').count()).toBe(2);
    await screenshot(page, 'terminal');
  });

  it('stops and starts the workspace from the page', async () => {
    const { page } = admin;
    await page.goto(`${server.url}/`);
    await page.getByRole('button', { name: `Stop ${name}` }).click();
    await expect.poll(() => rowStatus(page).textContent(), { timeout: 60_000 }).toBe('stopped');
    await page.getByRole('button', { name: `Start ${name}` }).click();
    await expect.poll(() => rowStatus(page).textContent(), { timeout: 60_000 }).toBe('running');
    const shown = await server.json<any>(['ws', 'show', name]);
    expect(shown.status).toBe('running');
  });

  it('shows the nodes, images and audit pages', async () => {
    const { page } = admin;
    for (const [path, heading] of [
      ['/nodes', 'Nodes'],
      ['/images', 'Images'],
      ['/users', 'Users'],
      ['/audit', 'Audit log'],
    ] as const) {
      await page.goto(server.url + path);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await screenshot(page, path.slice(1));
    }
    await expect.poll(() => page.locator('tbody tr').count()).toBeGreaterThan(0);
    await page.goto(`${server.url}/images`);
    await expect.poll(() => page.locator('tbody').textContent()).toContain('base');
  });

  it('shows a member none of the admin’s workspaces, not even by URL', async () => {
    const bob = await signedIn(bobToken);
    await expect.poll(() => bob.page.getByText(/No workspaces/).count()).toBe(1);
    expect(await bob.page.locator(`tr[data-workspace="${name}"]`).count()).toBe(0);
    await bob.page.goto(`${server.url}/workspaces/${name}`);
    const alert = bob.page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/no workspace|not found/i);
    expect(await bob.page.getByText('Open terminal').count()).toBe(0);
    // Nor through the API with his session (and the CSRF value his page holds).
    const csrf = (await bob.page.locator('meta[name="berth-csrf"]').getAttribute('content'))!;
    const res = await bob.page.request.get(`${server.url}/api/v1/workspaces/${name}`, { headers: { 'x-berth-csrf': csrf } });
    expect(res.status()).toBe(404);
    await bob.ctx.close();
  });

  // Services on the workspace page: a member's workspace created from a spec with services.
  it('shows a workspace’s services live (state, health, restarts) and follows a service’s logs', async () => {
    const spec = join(shots, 'berth.yaml');
    await writeFile(
      spec,
      [
        'image: base',
        'services:',
        '  web:',
        `    command: ${JSON.stringify('mkdir -p /tmp/www && echo ok > /tmp/www/index.html && exec httpd -f -p 7002 -h /tmp/www')}`,
        '    healthcheck:',
        '      http:',
        '        port: 7002',
        '        path: /index.html',
        '      interval: 500ms',
        '      start_interval: 200ms',
        '  ticker:',
        `    command: ${JSON.stringify('i=0; while true; do i=$((i+1)); echo tick-$i; sleep 1; done')}`,
        '  flaky:',
        `    command: ${JSON.stringify('echo flaky-run; sleep 1; exit 3')}`,
        '    restart: always',
        '',
      ].join('\n'),
    );
    const created = await server.cli(['ws', 'create', bobWs, '--spec', spec], { env: { BERTH_TOKEN: bobToken } });
    expect(created.code, created.stderr).toBe(0);
    bob = await signedIn(bobToken);
    const { page } = bob;
    await page.goto(`${server.url}/workspaces/${bobWs}`);
    await page.getByRole('heading', { name: 'Services' }).waitFor();
    const row = (svc: string) => page.locator(`tr[data-service="${svc}"]`);
    await expect.poll(() => row('web').locator('.health').textContent(), { timeout: 60_000 }).toBe('healthy');
    await expect.poll(() => row('ticker').locator('.status').textContent(), { timeout: 30_000 }).toBe('running');
    // Restarts climb on the page by themselves (no reload): the flaky one keeps exiting.
    await expect.poll(async () => Number(await row('flaky').locator('.restarts').textContent()), { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    await page.getByRole('button', { name: 'Logs of ticker' }).click();
    const out = page.getByLabel('Output of ticker');
    await expect.poll(async () => (await out.textContent()) ?? '', { timeout: 30_000 }).toMatch(/tick-\d+/);
    const first = Math.max(...[...((await out.textContent()) ?? '').matchAll(/tick-(\d+)/g)].map((m) => Number(m[1])));
    // Live: newer lines arrive in the open panel.
    await expect
      .poll(async () => Math.max(...[...((await out.textContent()) ?? '').matchAll(/tick-(\d+)/g)].map((m) => Number(m[1]))), { timeout: 20_000 })
      .toBeGreaterThan(first);
    await screenshot(page, 'services');
    await page.getByRole('button', { name: 'Close logs' }).click();
    // The service's port, with the command that opens its preview.
    await expect.poll(() => page.getByText(`berth preview ${bobWs} 7002`).count(), { timeout: 30_000 }).toBe(1);
  });

  // Pairing: an admin's read-only view of a member's terminal; the server refuses its input.
  it('lets an admin watch a member’s terminal read-only: her output shows, typing does nothing', async () => {
    const { page } = bob;
    await page.goto(`${server.url}/workspaces/${bobWs}/terminal`);
    const mine = page.locator('.xterm-rows').first();
    await mine.waitFor({ timeout: 20_000 });
    await expect.poll(async () => (await mine.textContent()) ?? '', { timeout: 20_000 }).toMatch(/[#$]/);
    await page.locator('.term').first().click();
    await page.keyboard.type('echo bob-$((6*7))\n');
    await expect.poll(async () => (await mine.textContent()) ?? '', { timeout: 15_000 }).toContain('bob-42');

    const { page: adminPage } = admin;
    // Names are unique per owner: the admin reaches bob's workspace as bob/NAME.
    await adminPage.goto(`${server.url}/workspaces/${encodeURIComponent(`bob/${bobWs}`)}`);
    await adminPage.getByRole('link', { name: "Watch bob's terminal (read-only)" }).click();
    const watched = adminPage.getByRole('region', { name: 'Terminal of bob (read-only)' });
    await expect.poll(async () => (await watched.textContent()) ?? '', { timeout: 20_000 }).toContain('bob-42');
    await watched.click();
    await adminPage.keyboard.type('echo injected-$((1+1))\n');
    await page.keyboard.type('echo after-$((2+3))\n');
    await expect.poll(async () => (await watched.textContent()) ?? '', { timeout: 15_000 }).toContain('after-5');
    await expect.poll(async () => (await mine.textContent()) ?? '', { timeout: 15_000 }).toContain('after-5');
    expect(await mine.textContent()).not.toContain('injected-2');
    expect(await watched.textContent()).not.toContain('injected-2');
    await screenshot(adminPage, 'watch');
  });

  // Web UI previews: a port's preview link, bound to the browser session.
  it('opens a port’s preview from the page; the page it serves cannot use the viewer’s session; another member and a signed-out session get 404', async () => {
    const { ctx, page } = bob;
    // A page in the workspace whose script tries everything a hostile preview would.
    const probe = Buffer.from(PROBE_HTML.replace('WORKSPACE', bobWs)).toString('base64');
    const wrote = await server.cli(['ws', 'exec', bobWs, '--', 'sh', '-c', `echo ${probe} | base64 -d > /tmp/www/probe.html`], {
      env: { BERTH_TOKEN: bobToken },
    });
    expect(wrote.code, wrote.stderr).toBe(0);
    await page.goto(`${server.url}/workspaces/${bobWs}`);
    const link = page.getByRole('link', { name: 'Open a preview of port 7002 in a new tab' });
    await link.waitFor({ timeout: 30_000 });
    await screenshot(page, 'previews');
    const [preview] = await Promise.all([ctx.waitForEvent('page'), link.click()]);
    await preview.waitForLoadState();
    // The one-time token is traded for the cookie and gone from the address bar; the service's page shows.
    await expect.poll(() => preview.url(), { timeout: 15_000 }).toBe(`${server.url}/w/${bobWs}/p/7002/`);
    await expect.poll(async () => (await preview.textContent('body'))?.trim(), { timeout: 15_000 }).toBe('ok');
    const previewCookie = (await ctx.cookies()).find((c) => c.name === 'berth_preview');
    expect(previewCookie).toMatchObject({ httpOnly: true, path: `/w/${bobWs}/` });

    // The service's own page, same origin as the UI in path mode, tries the viewer's session.
    await preview.goto(`${server.url}/w/${bobWs}/p/7002/probe.html`);
    await expect.poll(async () => (await preview.textContent('#out')) ?? '', { timeout: 30_000 }).toMatch(/^\{/);
    const probed = JSON.parse((await preview.textContent('#out'))!);
    expect(probed).toEqual({
      session: 403, // GET /session without the page's CSRF value
      sessionCsrf: false,
      pageCsrf: false, // fetch('/') gets the page without the value
      post: 403, // a state-changing call with the session cookie
      socket: 'refused', // the exec WebSocket with the session cookie
      opened: 'severed', // window.open('/') opens the UI page but leaves the opener no handle on it (COOP)
    });
    const tokens = await server.cli(['token', 'ls', '--json'], { env: { BERTH_TOKEN: bobToken } });
    expect(tokens.stdout).not.toContain('stolen');

    // Another member: the same 404 as for a workspace that does not exist.
    const carol = await signedIn(carolToken);
    const other = await carol.page.goto(`${server.url}/w/bob.${bobWs}/p/7002/`);
    expect(other!.status()).toBe(404);
    await carol.ctx.close();

    // Signing out ends the preview cookie with the session.
    await page.bringToFront();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to berth' }).waitFor();
    await new Promise((r) => setTimeout(r, 1200)); // past the preview access cache
    const after = await preview.goto(`${server.url}/w/${bobWs}/p/7002/`);
    expect(after!.status()).toBe(404);
    await ctx.close();
  });

  it('ends the session on the server at sign-out: the old cookie no longer works', async () => {
    const { ctx, page } = admin;
    const cookie = (await ctx.cookies()).find((c) => c.name === 'berth_session')!;
    await page.goto(`${server.url}/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to berth' }).waitFor();
    await screenshot(page, 'sign-in');
    const res = await fetch(`${server.url}/api/v1/whoami`, { headers: { cookie: `berth_session=${cookie.value}` } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('UNAUTHENTICATED');
    await ctx.close();
  });
});
